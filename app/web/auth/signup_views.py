"""(filled in by issue 13)"""

from app.web.auth.blueprint import bp  # noqa: F401
