"""Superuser pages for single sign-on providers. (Issue 13 fills this in.)"""

from app.web.admin.blueprint import bp  # noqa: F401
