"""Projects as code: a whole project as one document (project.yaml) exported, checked and
applied atomically, compared (`diff`), cloned into sandboxes and kept in sync with git.
"""
