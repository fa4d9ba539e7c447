"""Ferry's typed SQLAlchemy models, re-exported so callers import from `app.models`."""

from app.models.accounts import ApiToken, Invitation, MfaBackupCode, PasswordReset, User
from app.models.bulk import BulkRerun, BulkRerunItem, BulkRerunState
from app.models.collections import Collection, CollectionItem
from app.models.credentials import (
    AuditEvent,
    Credential,
    CredentialTransfer,
    OAuthClient,
    ProjectCredential,
)
from app.models.exports import HistoryExport, HistoryExportPart, HistoryExportState
from app.models.git_remotes import ProjectGitRemote
from app.models.mail import MailMessage, MailStatus
from app.models.notifications import AlertLogEntry, AlertWindow, DigestSend, WorkflowAlertChoice
from app.models.projects import DigestFrequency, Project, ProjectMember, Role
from app.models.runs import (
    Dataclip,
    DataclipType,
    LogLevel,
    LogLine,
    LogSource,
    Run,
    RunState,
    StepExitReason,
    StepRun,
    WorkOrder,
    WorkOrderState,
)
from app.models.sso import OidcProvider, UserIdentity
from app.models.templates import WorkflowTemplate
from app.models.workflows import (
    CronInput,
    Edge,
    EdgeCondition,
    Step,
    Trigger,
    TriggerType,
    WebhookAuth,
    WebhookReply,
    WebhookSignatureSeen,
    Workflow,
    WorkflowSnapshot,
)

__all__ = [
    "AlertLogEntry",
    "AlertWindow",
    "ApiToken",
    "AuditEvent",
    "BulkRerun",
    "BulkRerunItem",
    "BulkRerunState",
    "Collection",
    "CollectionItem",
    "Credential",
    "CredentialTransfer",
    "CronInput",
    "Dataclip",
    "DataclipType",
    "DigestFrequency",
    "DigestSend",
    "Edge",
    "EdgeCondition",
    "HistoryExport",
    "HistoryExportPart",
    "HistoryExportState",
    "Invitation",
    "LogLevel",
    "LogLine",
    "LogSource",
    "MailMessage",
    "MailStatus",
    "MfaBackupCode",
    "OAuthClient",
    "OidcProvider",
    "PasswordReset",
    "Project",
    "ProjectCredential",
    "ProjectGitRemote",
    "ProjectMember",
    "Role",
    "Run",
    "RunState",
    "Step",
    "StepExitReason",
    "StepRun",
    "Trigger",
    "TriggerType",
    "User",
    "UserIdentity",
    "WebhookAuth",
    "WebhookReply",
    "WebhookSignatureSeen",
    "WorkOrder",
    "WorkOrderState",
    "Workflow",
    "WorkflowAlertChoice",
    "WorkflowSnapshot",
    "WorkflowTemplate",
]
