"""Forms of the SSO provider pages: their shape only; the rules live in services.sso.providers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length


class SsoProviderForm(FlaskForm):
    """An OpenID Connect provider people sign in with."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the provider a name."), Length(max=100)],
        description="Shown on the sign-in page as “Sign in with <name>”, e.g. “Acme ID”.",
    )
    discovery_url = URLField(
        "Discovery URL",
        validators=[DataRequired("Enter the discovery URL."), Length(max=2000)],
        description="The issuer address or its /.well-known/openid-configuration, e.g. "
        "https://accounts.google.com. Ferry reads it when you save.",
    )
    client_id = StringField(
        "Client id", validators=[DataRequired("Enter the client id."), Length(max=500)]
    )
    client_secret = PasswordField(
        "Client secret",
        validators=[Length(max=2000)],
        description="Stored encrypted and never shown again; leave blank to keep the stored one.",
    )
    allowed_domains = TextAreaField(
        "Allowed email domains",
        validators=[Length(max=5000)],
        render_kw={"rows": 3, "placeholder": "example.org"},
        description="People whose verified email is at one of these domains get a Ferry "
        "account the first time they sign in; one per line. People who already have an "
        "account sign in whatever their domain. Leave empty to admit no new people.",
    )
    sso_only = BooleanField(
        "SSO only for these domains",
        description="People at the allowed domains cannot sign in with a password, "
        "superusers included: keep one superuser at another domain.",
    )
    enabled = BooleanField(
        "Enabled", default=True, description="Shows “Sign in with …” on the sign-in page."
    )


class DeleteSsoProviderForm(FlaskForm):
    """Deleting a provider asks for its name."""

    confirm_name = StringField(
        "Type the provider's name to confirm",
        validators=[DataRequired("Type the provider's name."), Length(max=200)],
    )
