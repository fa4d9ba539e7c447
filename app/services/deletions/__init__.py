"""Deleting projects and users: hidden (or disabled) at once, their data purged by a
background job once the grace period (FERRY_DELETION_GRACE_DAYS) has passed, cancellable
until then; the audit entries about them stay.

`jobs` holds the grace period and the queueing, `projects` and `users` the rules of each,
`due` the scheduler's task that queues the purges whose time has come.
"""
