"""Connecting a project to a git remote: the URL, branch and sign-in people give, checked
before anything is stored, and the `Target` a sync job runs git against.

A URL or branch reaches the git command line, so the checks refuse whatever git could read
as something else: a leading `-` (an option), `ext::`/`fd::` transports (commands), control
characters, and a password written into the URL (it would be stored in plain text; the
token field encrypts it). Local paths and file:// URLs are only for tests and single-host
installs (FERRY_GIT_ALLOW_LOCAL). The remote's host must be one the project's egress policy
lets steps reach: git sync must not become a way around it.
"""

from __future__ import annotations

import re
import socket
import uuid
from urllib.parse import urlsplit

from flask import current_app

from app import egress_rules
from app.extensions import db
from app.models import Project, User
from app.models.base import utcnow
from app.models.git_remotes import GIT_AUTH_KINDS, ProjectGitRemote
from app.services import audit, encryption
from app.services import projects as project_service
from app.services.errors import Invalid, NotFound
from app.services.git_sync.commands import GitError, Target, Workspace, remote_head

MAX_URL_LENGTH = 2000
MAX_BRANCH_LENGTH = 200
MAX_SECRET_LENGTH = 20_000
AUTH_LABELS = {"none": "None (public)", "ssh_key": "SSH deploy key", "https_token": "HTTPS token"}
# `git@github.com:org/repo.git`: user@host:path, the scp-like form ssh remotes often take.
_SCP_LIKE = re.compile(r"^(?P<user>[A-Za-z0-9._~-]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>.+)$")
_TRANSPORT_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_BAD_BRANCH = re.compile(r"(\.\.|@\{|//|/\.|[\s~^:?*\[\\])")


def get_remote(project_id: uuid.UUID) -> ProjectGitRemote | None:
    """The project's remote, or None when it is not connected."""
    return db.session.get(ProjectGitRemote, project_id)


def local_allowed() -> bool:
    """Whether remotes on this machine (paths, file://) are allowed: in tests, or when
    FERRY_GIT_ALLOW_LOCAL is on."""
    settings = current_app.config["FERRY_SETTINGS"]
    return settings.env == "test" or settings.git_allow_local


def check_url(raw: object) -> tuple[str, bool]:
    """The tidied URL and whether it is local, or Invalid("url") saying what to fix."""
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("url", "Give the repository's URL, e.g. https://github.com/org/repo.git.")
    url = raw.strip()
    if len(url) > MAX_URL_LENGTH:
        raise Invalid("url", f"The URL is too long: at most {MAX_URL_LENGTH} characters.")
    if "\x00" in url:
        raise Invalid("url", "The URL contains a NUL character (\\u0000); remove it.")
    if url.startswith("-") or _TRANSPORT_PREFIX.match(url):
        raise Invalid("url", "Give an https://, ssh:// or git@host:path URL.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url) or " " in url:
        raise Invalid("url", "The URL contains spaces or control characters; remove them.")
    if url.startswith("file://") or url.startswith("/"):
        if not local_allowed():
            raise Invalid(
                "url",
                "Repositories on Ferry's own machine are not allowed here; "
                "give an https:// or ssh:// URL.",
            )
        return url, True
    scp = _SCP_LIKE.match(url) if "://" not in url else None
    if scp:
        host, user = scp.group("host"), scp.group("user") or ""
    else:
        parts = urlsplit(url)
        if parts.scheme not in {"https", "ssh"}:
            raise Invalid("url", "Give an https://, ssh:// or git@host:path URL.")
        if parts.password is not None:
            raise Invalid(
                "url",
                "Leave the password or token out of the URL: give it in the token field, "
                "where it is stored encrypted.",
            )
        try:
            parts.port  # noqa: B018 -- a bad port raises here
        except ValueError:
            raise Invalid("url", "The URL's port is not a number between 1 and 65535.") from None
        host, user = parts.hostname or "", parts.username or ""
        if not parts.path.strip("/"):
            raise Invalid("url", "The URL names no repository: add its path.")
    if not host or host.startswith("-") or user.startswith("-"):
        raise Invalid("url", "The URL names no host (or one git would read as an option).")
    return url, False


def check_branch(raw: object) -> str:
    """The branch name, or Invalid("branch") when git would refuse or misread it."""
    branch = raw.strip() if isinstance(raw, str) else ""
    if not branch:
        return "main"
    if "\x00" in branch:
        raise Invalid("branch", "The branch contains a NUL character (\\u0000); remove it.")
    if (
        len(branch) > MAX_BRANCH_LENGTH
        or branch.startswith(("-", "/", "."))
        or branch.endswith(("/", ".", ".lock"))
        or branch == "@"
        or _BAD_BRANCH.search(branch)
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in branch)
    ):
        raise Invalid(
            "branch",
            "That is not a branch name git accepts: letters, digits, and - _ . / inside, "
            f"at most {MAX_BRANCH_LENGTH} characters, not starting with - or /.",
        )
    return branch


def check_secret(auth_kind: str, secret: object) -> str | None:
    """The secret as stored (None for auth kind none), or Invalid("secret")."""
    if auth_kind == "none":
        return None
    if not isinstance(secret, str) or not secret.strip():
        raise Invalid("secret", "Give the deploy key or token.")
    if "\x00" in secret:
        raise Invalid("secret", "The secret contains a NUL character (\\u0000); remove it.")
    if len(secret) > MAX_SECRET_LENGTH:
        raise Invalid("secret", "The secret is too long.")
    if auth_kind == "ssh_key":
        text = secret.strip().replace("\r\n", "\n")
        if not (text.startswith("-----BEGIN ") and "PRIVATE KEY-----" in text.splitlines()[0]):
            raise Invalid(
                "secret",
                "Paste the private key itself, from -----BEGIN ... PRIVATE KEY----- to its end.",
            )
        return text + "\n"
    token = secret.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in token):
        raise Invalid("secret", "A token is one word: no spaces or line breaks.")
    return token


def check_egress(project: Project, url: str) -> None:
    """Invalid("url") when the project's egress policy would refuse the remote's host."""
    host, port = _host_and_port(url)
    rules = [egress_rules.read_entry(e) for e in project.egress_allowlist or [] if e.strip()]
    address = egress_rules.parse_ip(host.strip("[]"))
    if address is not None:
        addresses = [address]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            # A name that resolves to nothing reaches nothing; git will say so at the sync,
            # and this check runs again before every sync.
            found = []
        addresses = [egress_rules.parse_ip(str(info[4][0])) for info in found]
    for each in addresses:
        if each is None:
            continue
        reason = egress_rules.refusal_reason(each, rules, host, port)
        if reason:
            raise Invalid(
                "url",
                f"{host} is a {reason}, which this project's egress allowlist does not open; "
                "add it under Settings → Egress first.",
            )


def _host_and_port(url: str) -> tuple[str, int]:
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        return (match.group("host") if match else ""), 22
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (22 if parts.scheme == "ssh" else 443)


def connect(
    actor: User,
    project_id: uuid.UUID,
    url: object,
    branch: object,
    auth_kind: object,
    secret: object,
) -> ProjectGitRemote:
    """Connect the project to a remote, or change its connection. A blank secret keeps the
    stored one when the auth kind did not change (secrets are write-only). A new URL or
    branch starts over: nothing synced yet."""
    project = project_service.get_project(project_id)
    url, local = check_url(url)
    branch = check_branch(branch)
    if auth_kind not in GIT_AUTH_KINDS:
        raise Invalid("auth_kind", "Choose how Ferry signs in: none, an SSH key or a token.")
    if auth_kind == "ssh_key" and (local or url.startswith("https://")):
        raise Invalid("auth_kind", "An SSH key needs an ssh:// or git@host:path URL.")
    if auth_kind == "https_token" and not url.startswith("https://"):
        raise Invalid("auth_kind", "A token needs an https:// URL.")
    if not local:
        check_egress(project, url)
    remote = get_remote(project_id)
    keep_secret = (
        remote is not None
        and remote.auth_kind == auth_kind
        and remote.secret_encrypted is not None
        and not (isinstance(secret, str) and secret.strip())
    )
    stored = None if keep_secret else check_secret(auth_kind, secret)
    if remote is None:
        remote = ProjectGitRemote(project_id=project_id, created_by_id=actor.id, status="never")
        db.session.add(remote)
        event = "git_connected"
    else:
        event = "git_changed"
    if remote.url != url or remote.branch != branch:
        remote.synced_commit, remote.synced_document = None, None
        remote.status, remote.last_error, remote.last_synced_at = "never", None, None
    remote.url, remote.branch, remote.auth_kind = url, branch, auth_kind
    if not keep_secret:
        remote.secret_encrypted = encryption.encrypt_text(stored) if stored else None
    changes = {"url": url, "branch": branch, "auth_kind": auth_kind}
    audit.record("project", project_id, event, actor.id, changes, project_id=project_id)
    db.session.commit()
    return remote


def disconnect(actor: User, project_id: uuid.UUID) -> None:
    """Forget the remote (and its secret); the repository itself is left as it is."""
    remote = get_remote(project_id)
    if remote is None:
        raise NotFound("This project is not connected to git.")
    changes = {"url": remote.url, "branch": remote.branch}
    db.session.delete(remote)
    audit.record(
        "project", project_id, "git_disconnected", actor.id, changes, project_id=project_id
    )
    db.session.commit()


def target_of(remote: ProjectGitRemote) -> Target:
    """What a sync runs git against, checked again (the allowlist may have changed)."""
    url, local = check_url(remote.url)
    if not local:
        check_egress(project_service.get_project(remote.project_id), url)
    secret = None
    if remote.secret_encrypted is not None and remote.auth_kind != "none":
        secret = encryption.decrypt_text(remote.secret_encrypted)
    return Target(url, check_branch(remote.branch), remote.auth_kind, secret, local)


def try_connection(project_id: uuid.UUID) -> str:
    """Reach the remote (ls-remote) and say what was found; Invalid when it cannot."""
    remote = get_remote(project_id)
    if remote is None:
        raise NotFound("This project is not connected to git.")
    target = target_of(remote)
    try:
        with Workspace(target) as workspace:
            head = remote_head(workspace)
    except GitError as error:
        raise Invalid(
            "connection", f"Ferry could not reach the repository: {error.message}"
        ) from None
    if head is None:
        return (
            f"Connected. The branch {target.branch} does not exist yet; the first save creates it."
        )
    return f"Connected. The branch {target.branch} is at commit {head[:8]}."


def mark(remote: ProjectGitRemote, status: str, error: str | None = None) -> None:
    """Record a sync's outcome on the row (the caller commits)."""
    remote.status, remote.last_error = status, error
    if status == "ok":
        remote.last_synced_at = utcnow()
