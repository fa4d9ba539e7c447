"""The session cookie: Flask's signed cookie, read only when the request carries one."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class SessionCookieInterface(SecureCookieSessionInterface):
    """Machines calling webhooks and the API send no session cookie, yet Flask builds its
    cookie signer for every request before looking. Here a request without the cookie gets
    an empty session at once; one with it is read (and checked) exactly as by Flask."""

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)
