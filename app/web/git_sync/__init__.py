"""Git sync settings: connect a project to a git remote, see its sync, resolve a conflict."""
