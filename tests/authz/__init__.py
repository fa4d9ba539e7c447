"""The route x role matrix: every route of the app, called as every role (see rules.py)."""
