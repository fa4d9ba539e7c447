"""Sandboxes: cloning a project, comparing a sandbox with its parent, merging it back."""
