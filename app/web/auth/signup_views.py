"""Self sign-up, when the instance allows it (FERRY_ALLOW_SIGNUP); 404 otherwise."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from app.services import signup
from app.services.errors import Invalid
from app.services.sso import providers
from app.web.auth.blueprint import bp
from app.web.auth.password_forms import SignupForm
from app.web.auth.session_start import start_session


def signup_allowed() -> bool:
    """True when people may create their own account (the login page links here then)."""
    return bool(current_app.config["FERRY_SETTINGS"].allow_signup)


@bp.get("/signup")
def signup_form():
    """The sign-up form."""
    _only_when_allowed()
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    return render_template("auth/signup.html", form=SignupForm())


@bp.post("/signup")
def create_account():
    """Create the account (in no project) and sign its owner in."""
    _only_when_allowed()
    form = SignupForm()
    if not form.validate_on_submit():
        return _form_again(form)
    provider = providers.sso_only_provider_for(form.email.data)
    if provider is not None:
        # The organisation signs its people in itself: no password accounts for its domain.
        domain = form.email.data.strip().lower().rpartition("@")[2]
        form.email.errors = [f"People at {domain} sign in with {provider} instead of signing up."]
        return _form_again(form, 403)
    try:
        user = signup.sign_up(form.email.data, form.password.data, name=form.name.data or "")
    except Invalid as error:
        target = form._fields.get(error.field, form.email)
        target.errors = [*target.errors, error.message]
        return _form_again(form)
    start_session(user, method="signup")
    flash("Welcome to Ferry. Create a project, or ask a colleague to add you to theirs.", "success")
    return redirect(url_for("projects.index"))


def _only_when_allowed() -> None:
    if not signup_allowed():
        abort(404)


def _form_again(form: SignupForm, status: int = 422):
    form.password.data = form.confirm.data = ""
    return render_template("auth/signup.html", form=form), status
