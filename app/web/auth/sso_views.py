"""Sign-in with an OpenID Connect provider: the redirect there, the callback back, the pages
that say why a sign-in was refused, the providers' buttons on the sign-in page, and the rule
that keeps "SSO only" domains off the password form.

After the callback a user with Ferry's own MFA turned on is still asked for their code:
Ferry cannot tell whether the provider asked for a second factor (providers report it
inconsistently, if at all), and a project that requires MFA, or FERRY_SUPERUSER_MFA, promises
a second factor that Ferry checks itself. People without Ferry MFA are not asked.
"""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from app.services.errors import NotFound
from app.services.sso import login, providers
from app.services.sso.refusal import Refused
from app.web.auth import mfa_views
from app.web.auth.blueprint import bp
from app.web.auth.session_start import start_session
from app.web.mfa_gate import safe_next

# Sign-ins under way in this browser (state, nonce, PKCE verifier); a few, so two tabs
# started one after the other both complete.
PENDING_KEY = "sso_pending"
MAX_PENDING = 3


@bp.context_processor
def _login_choices() -> dict:
    # A function, so only the templates showing the buttons query the providers.
    return {"sso_login_choices": providers.login_choices}


def password_refusal(email: str) -> str | None:
    """A message when `email`'s domain must sign in through SSO only; None otherwise."""
    name = providers.sso_only_provider_for(email or "")
    if name is None:
        return None
    domain = (email or "").strip().lower().rpartition("@")[2]
    return f"People at {domain} sign in with {name}. Use the button below."


@bp.get("/login/sso/<slug>")
def sso_start(slug: str):
    """Send the browser to the provider, remembering the state, nonce and PKCE verifier."""
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    try:
        url, pending = login.start(slug, safe_next(request.args.get("next")))
    except (Refused, NotFound) as error:
        return _refusal(slug, error)
    kept = [p for p in session.get(PENDING_KEY) or [] if isinstance(p, dict)]
    session[PENDING_KEY] = [*kept[-(MAX_PENDING - 1) :], pending]
    return redirect(url)


@bp.get("/login/sso/<slug>/callback")
def sso_callback(slug: str):
    """Where the provider sends the browser back: check everything, then sign in."""
    pendings = session.get(PENDING_KEY)
    pending = login.matching_pending(pendings, slug, request.args.get("state"))
    if pending is not None:
        # Used once, whatever happens next: reloading this address cannot replay it.
        session[PENDING_KEY] = [p for p in pendings if p is not pending]
    try:
        signed_in = login.finish(slug, pending, request.args)
    except (Refused, NotFound) as error:
        return _refusal(slug, error)
    user = signed_in.user
    if user.mfa_enabled:
        return mfa_views.begin_challenge(user, remember=False, next_url=signed_in.next_url)
    start_session(user, method=f"sso:{slug}")
    return redirect(signed_in.next_url or url_for("projects.index"))


def _refusal(slug: str, error: Refused | NotFound):
    status = error.status if isinstance(error, Refused) else 404
    choice = next((c for c in providers.login_choices() if c.slug == slug), None)
    return render_template(
        "auth/sso_refused.html",
        status=status,
        message=error.message,
        provider=choice,
    ), status
