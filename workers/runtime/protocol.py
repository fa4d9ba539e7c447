"""What a caller hands the sandbox (`StepRequest`) and what comes back (`StepResult`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from workers.runtime.logs import LogLine

StepStatus = Literal["success", "failed", "crashed", "killed", "exception"]


@dataclass
class StepRequest:
    """One step to run.

    `state` is the step's input state; when the step has a credential the caller puts it in
    `state["configuration"]` (the runtime removes it from the output and scrubs its values
    from logs and output). `egress_allow` lists hosts or CIDRs the step may reach although
    they are private/loopback/link-local (e.g. "10.2.0.0/16", "dhis2.lan", "127.0.0.1").
    `ferry_api` is {"url", "token"}: how the step's `collections` operations reach Ferry's
    own API (see `workers.runtime.ferry_api`); the token is scrubbed like a credential.
    """

    body: str
    adaptor: str
    state: dict
    timeout_s: float = 60.0
    memory_mb: int = 512
    max_output_bytes: int = 10 * 1024 * 1024
    max_log_bytes: int = 1024 * 1024
    egress_allow: list[str] = field(default_factory=list)
    ferry_api: dict | None = None
    # The caller takes a large output state as JSON text (`app.json_text.JsonText`), not
    # parsed: the run executor, which only stores it and passes it on. Not sent.
    raw_result: bool = False

    def as_wire(self) -> dict:
        """The request as the sandbox server reads it: the fields as they are (asdict
        would deep-copy the whole state only for it to be encoded as JSON), the state last
        so that the server can read the rest without parsing it."""
        names = [name for name in self.__dataclass_fields__ if name not in _NOT_SENT]
        return {**{name: getattr(self, name) for name in names}, "state": self.state}


_NOT_SENT = ("state", "raw_result")


@dataclass
class StepResult:
    """How a step ended.

    `state` is the output state (configuration removed, credential values scrubbed); for a
    failed step it is the state after the last operation that succeeded; None when the job
    crashed before running or was killed. `error` is {"type", "message", "line"} or None.
    """

    status: StepStatus
    state: dict | None
    error: dict | None
    logs: list[LogLine]
    duration_ms: float

    def as_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)
