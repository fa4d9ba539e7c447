"""Instance administration (superusers only)."""
