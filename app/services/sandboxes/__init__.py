"""Sandboxes: a project cloned from another (its parent) to change freely, compared with the
parent, and merged back.

`cloning` makes a sandbox in one transaction (workflows through the project document, the
parent's settings, the cloner's credential shares); `documents` holds the pure rules that
keep a sandbox from touching production (no webhook paths, schedules off) and that keep the
parent's webhook URLs and schedules through a merge; `comparing` describes a list of changes
by workflow, step and body line; `merging` plans a merge (with the parent's changes since the
clone it would replace) and applies it.
"""
