"""The checks that look at a document's edges as a whole: cycles and unreachable steps.

Walks are iterative: a document may chain thousands of steps, more than Python's stack holds.
"""

from __future__ import annotations

from app.services.workflows.shapes import EdgeDoc, Report, WorkflowDocument

CYCLE = "This edge makes a cycle: a workflow must not lead back to a step it came from."
UNREACHED = "Nothing leads to this step: connect it to a trigger or another step."


def check_cycles(report: Report, document: WorkflowDocument) -> None:
    """A problem on every edge that lies on a cycle; first the edges that close one."""
    following: dict[str, list[EdgeDoc]] = {}
    for edge in document.edges:
        if edge.source_job is not None:
            following.setdefault(edge.source_job, []).append(edge)
    closing, finished = _walk([job.key for job in document.jobs], following)
    if not closing:
        return
    component = _components(finished, following)
    for edge in closing:
        report.add(f"edges.{edge.key}", CYCLE)
    closing_keys = {edge.key for edge in closing}
    for edge in document.edges:
        if (
            edge.source_job is not None
            and edge.key not in closing_keys
            and component.get(edge.source_job) == component.get(edge.target_job)
        ):
            report.add(f"edges.{edge.key}", CYCLE)


def check_reach(report: Report, document: WorkflowDocument) -> None:
    """A warning on each step that no trigger leads to (when the workflow has triggers)."""
    if not document.triggers:
        return
    todo = [edge.target_job for edge in document.edges if edge.source_trigger is not None]
    following: dict[str, list[str]] = {}
    for edge in document.edges:
        if edge.source_job is not None:
            following.setdefault(edge.source_job, []).append(edge.target_job)
    reached: set[str] = set()
    while todo:
        job = todo.pop()
        if job not in reached:
            reached.add(job)
            todo.extend(following.get(job, []))
    for job in document.jobs:
        if job.key not in reached:
            report.add(f"jobs.{job.key}", UNREACHED, "warning")


def _walk(
    starts: list[str], following: dict[str, list[EdgeDoc]]
) -> tuple[list[EdgeDoc], list[str]]:
    """Depth-first from each start: the edges that lead back into the path being walked, and
    the jobs in the order they were finished."""
    visiting, done = set(), set()
    closing: list[EdgeDoc] = []
    finished: list[str] = []
    for start in starts:
        if start in done:
            continue
        visiting.add(start)
        stack = [(start, iter(following.get(start, [])))]
        while stack:
            job, edges = stack[-1]
            edge = next(edges, None)
            if edge is None:
                stack.pop()
                visiting.discard(job)
                done.add(job)
                finished.append(job)
            elif edge.target_job in visiting:
                closing.append(edge)
            elif edge.target_job not in done:
                visiting.add(edge.target_job)
                stack.append((edge.target_job, iter(following.get(edge.target_job, []))))
    return closing, finished


def _components(finished: list[str], following: dict[str, list[EdgeDoc]]) -> dict[str, int]:
    """Strongly connected components (Kosaraju): two jobs share a number when each leads to
    the other, so an edge between them lies on a cycle."""
    leading: dict[str, list[str]] = {}
    for edges in following.values():
        for edge in edges:
            leading.setdefault(edge.target_job, []).append(edge.source_job)
    component: dict[str, int] = {}
    for number, root in enumerate(reversed(finished)):
        if root in component:
            continue
        todo = [root]
        while todo:
            job = todo.pop()
            if job not in component:
                component[job] = number
                todo.extend(source for source in leading.get(job, []) if source not in component)
    return component
