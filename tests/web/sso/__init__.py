"""Tests of the SSO pages: app/web/auth/sso_views.py and app/web/admin/sso_views.py."""
