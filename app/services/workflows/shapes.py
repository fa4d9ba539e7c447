"""The shapes a workflow document is read into, and the problems found while reading it.

Plain data only, so the document parser (`documents`), its section readers (`sections`),
its graph checks (`graph`) and the Studio's canvas check can all share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.models import CronInput, EdgeCondition, TriggerType, WebhookReply
from app.services.errors import Invalid


@dataclass
class TriggerDoc:
    """A trigger as written in the document."""

    key: str
    type: TriggerType
    enabled: bool = True
    webhook_reply: WebhookReply = WebhookReply.BEFORE_START
    custom_path: str | None = None
    # webhook_signature_* keys (`triggers.webhook_signature_settings`); None: unsigned.
    signature: dict | None = None
    # Accepted requests a minute (None: the instance's FERRY_WEBHOOK_REQUESTS_PER_MINUTE).
    requests_per_minute: int | None = None
    cron_expression: str | None = None
    cron_timezone: str = "UTC"
    cron_input: CronInput = CronInput.LAST_SUCCESS
    cron_input_job: str | None = None


@dataclass
class JobDoc:
    """A step (job) as written in the document."""

    key: str
    name: str
    adaptor: str
    credential: str | None
    body: str
    # As stored (`workflows.retries`): None means the workflow's default applies.
    retry_policy: dict | None = None


@dataclass
class EdgeDoc:
    """An edge as written in the document."""

    key: str
    target_job: str
    source_trigger: str | None = None
    source_job: str | None = None
    condition_type: EdgeCondition = EdgeCondition.ALWAYS
    condition_expression: str | None = None
    condition_label: str | None = None
    enabled: bool = True


@dataclass
class WorkflowDocument:
    """A workflow document; fully valid only when reading it found no error."""

    name: str
    concurrency: int | None = None
    retry_policy: dict | None = None  # the default for steps without their own
    triggers: list[TriggerDoc] = field(default_factory=list)
    jobs: list[JobDoc] = field(default_factory=list)
    edges: list[EdgeDoc] = field(default_factory=list)


@dataclass
class Problem:
    """Something wrong in a document; `path` names the place to fix (jobs.<key>.adaptor)."""

    path: str
    message: str
    level: str = "error"  # or "warning": saving is still allowed

    def as_dict(self) -> dict:
        """The problem as JSON (the builder's canvas and the API read this shape)."""
        return {"path": self.path, "message": self.message, "level": self.level}


class Report:
    """The problems found so far while reading one document, in the order found."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, level: str = "error") -> None:
        """Record a problem at `path`."""
        self.problems.append(Problem(path, message, level))


class DocumentInvalid(Invalid):
    """A document with errors: `field` and `message` are the first one's, `problems` all."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].path, problems[0].message)
        self.problems = problems
