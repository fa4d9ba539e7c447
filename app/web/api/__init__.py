"""The JSON API under /api/v1: bearer tokens from `ferry create-token`, project roles, JSON
errors. CSRF-exempt: it is authenticated by token, not by a browser session cookie."""
