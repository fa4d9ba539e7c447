"""MFA enrolment and management in the profile. (Issue 13 fills this in.)"""

from app.web.profile.blueprint import bp  # noqa: F401
