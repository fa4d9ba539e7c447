"""`ferry execute`: run one job file, or a whole workflow file, locally through the sandbox.

A local workflow file uses the same keys as the workflow document (ARCHITECTURE.md), with
two additions for files on disk: a job's `body_path` (instead of `body`) and
`credential_path` (a JSON file, instead of a credential name). Paths are relative to the
workflow file. Triggers are ignored: the run starts at the steps no edge leads to.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from workers import walker
from workers.runtime.logs import LogLine
from workers.runtime.protocol import StepRequest, StepResult
from workers.walker import SEVERITY

# Exit codes: every executed step succeeded / a step failed / code could not run / a limit.
EXIT_CODES = {"success": 0, "failed": 1, "crashed": 2, "exception": 2, "killed": 3}


class LocalFileError(Exception):
    """A file given to `ferry execute` is missing or malformed; the message says which."""


@dataclass
class LocalStep:
    """A step read from files."""

    key: str
    name: str
    adaptor: str
    body: str
    configuration: dict | None


def read_json(path: str | Path | None, what: str) -> dict | None:
    """A JSON object from `path`, or None when no path was given."""
    if path is None:
        return None
    try:
        value = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LocalFileError(f"{what} file {path} does not exist.") from None
    except json.JSONDecodeError as error:
        raise LocalFileError(f"{what} file {path} is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise LocalFileError(f"{what} file {path} must hold a JSON object.")
    return value


def read_workflow(path: Path) -> tuple[dict[str, LocalStep], list[dict]]:
    """Steps by key and enabled edges (in walker form) from a local workflow file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise LocalFileError(f"Workflow file {path} does not exist.") from None
    except yaml.YAMLError as error:
        raise LocalFileError(f"Workflow file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), dict):
        raise LocalFileError(f"Workflow file {path} needs a `jobs` mapping.")
    steps = {}
    for key, job in raw["jobs"].items():
        where = f"{path}: jobs.{key}"
        if not isinstance(job, dict) or not job.get("adaptor"):
            raise LocalFileError(f"{where} needs an adaptor, e.g. http@1.")
        if "body_path" in job:
            body_file = path.parent / job["body_path"]
            if not body_file.exists():
                raise LocalFileError(f"{where}.body_path: {body_file} does not exist.")
            body = body_file.read_text()
        else:
            body = job.get("body", "")
        credential = job.get("credential_path")
        configuration = (
            read_json(path.parent / credential, f"{where}.credential_path") if credential else None
        )
        steps[key] = LocalStep(key, job.get("name", key), job["adaptor"], body, configuration)
    edges = []
    for key, edge in (raw.get("edges") or {}).items():
        if not isinstance(edge, dict) or edge.get("target_job") not in steps:
            raise LocalFileError(f"{path}: edges.{key} needs a target_job naming a job.")
        if edge.get("enabled", True) and edge.get("source_job") in steps:
            edges.append(
                {
                    "source": edge["source_job"],
                    "target_step_id": edge["target_job"],
                    "condition_type": edge.get("condition_type", "always"),
                    "condition_expression": edge.get("condition_expression"),
                }
            )
    return steps, edges


class LocalRun:
    """Runs steps in one sandbox, logging to stderr and remembering every step's result."""

    def __init__(self, sandbox, allow: list[str], timeout_s: float) -> None:
        self.sandbox, self.allow, self.timeout_s = sandbox, allow, timeout_s
        self.statuses: list[str] = []
        self.last_state: dict | None = None

    def run_step(self, step: LocalStep, state: dict, remaining: float) -> StepResult:
        """Run one step and report it on stderr."""
        state_in = copy.deepcopy(state)
        if step.configuration is not None:
            state_in["configuration"] = step.configuration
        print(f"── {step.name} ({step.adaptor})", file=sys.stderr)
        result = self.sandbox.run(
            StepRequest(
                body=step.body,
                adaptor=step.adaptor,
                state=state_in,
                timeout_s=min(remaining, self.timeout_s),
                egress_allow=self.allow,
            ),
            on_log=_print_log,
        )
        self.statuses.append(result.status)
        if result.error:
            line = f" (line {result.error['line']})" if result.error.get("line") else ""
            print(f"   {result.status}: {result.error['message']}{line}", file=sys.stderr)
        else:
            print(f"   {result.status} in {result.duration_ms:.0f} ms", file=sys.stderr)
        return result

    def expression_holds(self, expression: str, state: dict) -> bool:
        """Evaluate an edge expression in the sandbox."""
        check = self.sandbox.run(
            StepRequest(
                body=walker.expression_body(expression),
                adaptor="common",
                state=copy.deepcopy(state),
                timeout_s=10,
                egress_allow=self.allow,
            )
        )
        return check.status == "success" and (check.state or {}).get("data") is True

    @property
    def exit_code(self) -> int:
        """0 only when every executed step succeeded; else by the worst step outcome."""
        if not self.statuses:
            return 0
        return EXIT_CODES[min(self.statuses, key=SEVERITY.index)]


def execute_workflow(
    sandbox,
    path: Path,
    state: dict,
    *,
    only: str | None,
    start: str | None,
    allow: list[str],
    timeout_s: float,
) -> tuple[int, dict | None]:
    """Run a workflow file; returns (exit code, final state)."""
    steps, edges = read_workflow(path)
    for name, option in (("--only", only), ("--start", start)):
        if option is not None and option not in steps:
            raise LocalFileError(f"{name} {option}: no such job (jobs: {', '.join(steps)}).")
    edges_from: dict[str, list[dict]] = {}
    for edge in edges:
        edges_from.setdefault(edge["source"], []).append(edge)
    if only or start:
        roots = [only or start]
    else:
        targets = {edge["target_step_id"] for edge in edges}
        roots = [key for key in steps if key not in targets]
    local = LocalRun(sandbox, allow, timeout_s)

    def run_step(pending: walker.PendingStep, remaining: float):
        result = local.run_step(steps[pending.step_id], pending.state, remaining)
        output = result.state if result.state is not None else copy.deepcopy(pending.state)
        if result.status != "success":
            output.setdefault("errors", {})[pending.step_id] = result.error
        local.last_state = output
        return result, output, output

    first = [walker.PendingStep(key, copy.deepcopy(state)) for key in roots]
    outcome = walker.walk(
        first, {} if only else edges_from, run_step, local.expression_holds, timeout_s
    )
    return local.exit_code, outcome.final_ref or local.last_state


def execute_job(
    sandbox,
    body: str,
    adaptor: str,
    state: dict,
    configuration: dict | None,
    *,
    allow: list[str],
    timeout_s: float,
) -> tuple[int, dict | None]:
    """Run a single job body; returns (exit code, output state)."""
    step = LocalStep("job", "job", adaptor, body, configuration)
    local = LocalRun(sandbox, allow, timeout_s)
    result = local.run_step(step, state, timeout_s)
    return local.exit_code, result.state


def _print_log(line: LogLine) -> None:
    print(f"   [{line.source}] {line.level.upper():5} {line.message}", file=sys.stderr)
