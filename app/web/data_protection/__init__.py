"""A project's data protection settings: retention of history and dataclip bodies, and zero
persistence."""
