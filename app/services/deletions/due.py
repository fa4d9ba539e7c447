"""The scheduler's task: queue the purges whose grace period has ended."""

from __future__ import annotations

from app.models.base import utcnow
from app.services.deletions import jobs, projects, users


def queue_due() -> int:
    """Queue a purge job for every project and user whose grace period has ended. A job that
    failed or was lost (Redis down, a worker killed) is queued again on the next call, since
    its row is still there; one queued or running already is left alone. Returns how many
    are due."""
    now = utcnow()
    due_projects = projects.due_ids(now)
    due_users = users.due_ids(now)
    for project_id in due_projects:
        jobs.enqueue_project(project_id)
    for user_id in due_users:
        jobs.enqueue_user(user_id)
    return len(due_projects) + len(due_users)
