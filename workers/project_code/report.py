"""What the code commands print: the changes a deploy would make (each at its document path,
with a line diff of every changed job body) and the problems of a refused document, each
pointing at the file and line to fix."""

from __future__ import annotations

import ast
import re

from app.services.project_code.diff import text_diff
from workers.project_code.directory import PROJECT_FILE, Local, line_of

MARKS = {"added": "+", "removed": "-", "changed": "~"}
_LINE = re.compile(r"\bline (\d+)\b")
_BODY = re.compile(r"^workflows\.(?P<workflow>[^.]+)\.jobs\.(?P<job>[^.]+)\.body$")


def change_lines(
    changes: list[dict], server: dict, local: dict, keys: dict[str, str] | None = None
) -> list[str]:
    """One line per change (`~ workflows.sync.jobs.fetch.body`), each changed body followed
    by its line diff; `server` is the server's plain document, `local` the directory's.
    The server names workflows by its own keys; `keys` maps them to the directory's, so
    each path reads as project.yaml does."""
    keys = keys or {}
    lines = []
    for change in changes:
        path, kind = str(change.get("path", "")), str(change.get("kind", "changed"))
        parts = path.split(".", 2)
        local_key = keys.get(parts[1], parts[1]) if len(parts) > 1 else None
        if parts[0] == "workflows" and local_key is not None:
            shown = ".".join(["workflows", local_key, *parts[2:]])
        else:
            shown = path
        lines.append(f"  {MARKS.get(kind, '~')} {shown}")
        body = _BODY.match(path)
        if body and kind == "changed":
            before = _body(server, body["workflow"], body["job"], local)
            after = _body(local, local_key or body["workflow"], body["job"], server)
            lines.extend(f"      {line}" for line in text_diff(before, after))
    return lines


def problem_lines(problems: list[dict], local: Local) -> list[str]:
    """One line per problem: `file:line: path: message`. A problem inside a job body read
    from a file points at that file (and the line the message names); any other at the line
    of project.yaml that holds the path."""
    lines = []
    for problem in problems:
        path, message = str(problem.get("path", "")), str(problem.get("message", ""))
        where = _body_file(path, local)
        if where:
            number = _LINE.search(message)
            where = f"{where}:{number.group(1)}" if number else where
        else:
            line = line_of(local.text, path) if path else None
            where = f"{PROJECT_FILE}:{line}" if line else PROJECT_FILE
        lines.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
    return lines


def _body_file(path: str, local: Local) -> str | None:
    for body_path, file_name in local.body_files.items():
        if path == body_path or path.startswith(body_path + "."):
            return file_name
    return None


def _body(document: dict, workflow_key: str, job_key: str, other: dict) -> str | None:
    """A job's body in `document`; a workflow missing under that key is looked up by the
    name it has in `other` (the two sides may key a workflow differently)."""
    workflows = document.get("workflows") or {}
    workflow = workflows.get(workflow_key)
    if workflow is None:
        name = ((other.get("workflows") or {}).get(workflow_key) or {}).get("name")
        workflow = next((w for w in workflows.values() if w.get("name") == name), {})
    body = ((workflow.get("jobs") or {}).get(job_key) or {}).get("body")
    return body if isinstance(body, str) else None


def syntax_warnings(local: Local) -> list[str]:
    """`file:line: ...` for each job file that is not valid Python: the server stores it (as
    the builder does), but the job would crash on its first run, so say so before deploying."""
    warnings = []
    workflows = local.document.get("workflows") or {}
    for body_path, file_name in local.body_files.items():
        match = _BODY.match(body_path)
        if not match:
            continue
        job = ((workflows.get(match["workflow"]) or {}).get("jobs") or {}).get(match["job"])
        body = job.get("body") if isinstance(job, dict) else None
        if not isinstance(body, str):
            continue
        try:
            ast.parse(body, filename=file_name)
        except SyntaxError as error:
            where = f"{file_name}:{error.lineno}" if error.lineno else file_name
            warnings.append(f"{where}: {error.msg}: this job would crash when it runs.")
        except ValueError as error:
            warnings.append(f"{file_name}: {error}: this job would crash when it runs.")
    return warnings
