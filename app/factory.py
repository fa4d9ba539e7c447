"""Building the Flask app: settings, extensions and blueprints; connects to nothing."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from app.config import INSTANCE_DIR, Settings
from app.db_ping import ping_idle_connections
from app.extensions import csrf, db, init_limiter, login_manager, migrate


def build_app(config: Settings | Mapping[str, object] | None = None) -> Flask:
    """Build the Flask app. Reads settings, binds extensions; connects to nothing.

    `config` may be a `Settings`, or a mapping of Flask config overrides applied on top of
    the settings read from the environment (tests use this).
    """
    settings = config if isinstance(config, Settings) else Settings.from_env()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(settings.flask_config())
    if isinstance(config, Mapping):
        app.config.update(config)

    db.init_app(app)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            ping_idle_connections(db.engine)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    init_limiter(app)

    from app.web import register_web, security_headers
    from app.web.webhooks import fast_path

    register_web(app)
    security_headers.register(app)
    fast_path.install(app)
    return app
