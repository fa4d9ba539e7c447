"""Admin forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, URLField
from wtforms.validators import DataRequired, Length, Optional

ENDPOINT_HELP = "The full https:// address from the provider's documentation."


class OAuthClientForm(FlaskForm):
    """An OAuth 2 client registered with a provider."""

    name = StringField(
        "Name",
        validators=[DataRequired("Give the client a name."), Length(max=200)],
        description="Shown to people creating credentials, e.g. “Google Sheets”.",
    )
    authorization_endpoint = URLField(
        "Authorization endpoint",
        validators=[DataRequired("Enter the authorization endpoint."), Length(max=2000)],
        description=ENDPOINT_HELP + " Extra query parameters (e.g. access_type=offline) are kept.",
    )
    token_endpoint = URLField(
        "Token endpoint",
        validators=[DataRequired("Enter the token endpoint."), Length(max=2000)],
        description=ENDPOINT_HELP,
    )
    revocation_endpoint = URLField(
        "Revocation endpoint",
        validators=[Optional(), Length(max=2000)],
        description="Optional. Tokens are revoked here when a credential is deleted.",
    )
    client_id = StringField(
        "Client id", validators=[DataRequired("Enter the client id."), Length(max=500)]
    )
    client_secret = PasswordField(
        "Client secret",
        description="Stored encrypted and never shown again; leave blank to keep the stored one.",
    )
    scopes = StringField(
        "Scopes",
        validators=[Length(max=1000)],
        description="Separated by spaces, e.g. “openid email offline_access”.",
    )
    token_auth_method = SelectField(
        "Client authentication",
        choices=[
            ("client_secret_basic", "HTTP Basic (client_secret_basic)"),
            ("client_secret_post", "In the request body (client_secret_post)"),
        ],
    )
