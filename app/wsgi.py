"""The WSGI entry point for gunicorn: `app.wsgi:application`."""

from app import create_app
from app.gc_freeze import freeze_startup_objects

application = create_app()
freeze_startup_objects()
