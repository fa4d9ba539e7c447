"""The git command line, run for one sync in a temporary directory of its own.

Ferry never works in the repository it runs from and never keeps credentials where git would
store them: an SSH deploy key goes into a 0600 file that `GIT_SSH_COMMAND` names, an HTTPS
token into a 0600 file that a `GIT_ASKPASS` helper prints, both deleted with the directory.
No user or system git configuration is read (a malicious `~/.gitconfig` could run commands),
only the transports the remote's URL needs are allowed (so `ext::` and `fd::` never run),
and every message git prints is scrubbed of the secret before anyone sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GIT = shutil.which("git") or "/usr/bin/git"
TIMEOUT_S = 60
# The committer of every commit; the author is the person who saved.
COMMITTER = ("Ferry", "ferry@localhost")


class GitError(Exception):
    """A git command failed; `message` is safe to show (the secret is scrubbed)."""

    def __init__(self, message: str, *, rejected: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # A push refused because the remote has commits this clone lacks (non-fast-forward).
        self.rejected = rejected


@dataclass(frozen=True)
class Target:
    """Where to sync and how to sign in: `secret` is the plain key or token (or None)."""

    url: str
    branch: str
    auth_kind: str = "none"
    secret: str | None = None
    local: bool = False  # a file:// URL or a path on this machine (tests, single hosts)

    def transports(self) -> tuple[str, ...]:
        """The git transports this target may use: only its own."""
        if self.local:
            return ("file",)
        return ("ssh",) if self.url.startswith("ssh://") or "://" not in self.url else ("https",)


class Workspace:
    """A fresh directory with a `repo` inside, the credential files and the environment git
    runs with; use as a context manager, everything is removed at the end."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.root = Path(tempfile.mkdtemp(prefix="ferry-git-"))
        self.repo = self.root / "repo"
        self.env = self._environment()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _secret_file(self, name: str, text: str) -> Path:
        path = self.root / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        return path

    def _environment(self) -> dict[str, str]:
        home = self.root / "home"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
        }
        known_hosts = self.root / "known_hosts"
        ssh = [
            "ssh",
            "-o BatchMode=yes",
            "-o StrictHostKeyChecking=accept-new",
            f"-o UserKnownHostsFile={known_hosts}",
            "-o IdentitiesOnly=yes",
            "-F /dev/null",
        ]
        secret = self.target.secret
        if self.target.auth_kind == "ssh_key" and secret:
            key = self._secret_file("deploy_key", secret.strip() + "\n")
            ssh.append(f"-i {key}")
        elif self.target.auth_kind == "https_token" and secret:
            token = self._secret_file("token", secret)
            helper = self.root / "askpass.sh"
            # Asked for a user name (none in the URL) it says x-access-token, which GitHub,
            # Gitea and GitLab accept with a token; asked for a password it gives the token.
            helper.write_text(
                '#!/bin/sh\ncase "$1" in\n  Username*) echo x-access-token ;;\n'
                f"  *) cat '{token}' ;;\nesac\n"
            )
            helper.chmod(0o700)
            env["GIT_ASKPASS"] = str(helper)
        env["GIT_SSH_COMMAND"] = " ".join(ssh)
        return env

    def succeeds(self, *args: str) -> bool:
        """Whether a git command exits 0 (for questions such as "is anything staged?")."""
        try:
            self.git(*args)
        except GitError:
            return False
        return True

    def git(self, *args: str, cwd: Path | None = None) -> str:
        """Run one git command; returns its standard output, raises GitError (scrubbed)."""
        options = ["-c", "protocol.allow=never", "-c", "http.followRedirects=false"]
        for transport in self.target.transports():
            options += ["-c", f"protocol.{transport}.allow=always"]
        options += ["-c", f"user.name={COMMITTER[0]}", "-c", f"user.email={COMMITTER[1]}"]
        try:
            done = subprocess.run(
                [GIT, *options, *args],
                cwd=cwd or self.repo,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise GitError(
                f"git {args[0]} took longer than {TIMEOUT_S} s and was stopped."
            ) from None
        if done.returncode != 0:
            text = self.scrub((done.stderr or done.stdout).strip())
            rejected = "[rejected]" in text or "non-fast-forward" in text or "fetch first" in text
            raise GitError(_last_lines(text) or f"git {args[0]} failed.", rejected=rejected)
        return done.stdout

    def scrub(self, text: str) -> str:
        """`text` with the secret (and each line of a key) replaced by ***."""
        secret = self.target.secret or ""
        for part in sorted({secret, *secret.strip().splitlines()}, key=len, reverse=True):
            if len(part.strip()) >= 4:
                text = text.replace(part.strip(), "***")
        return text.replace(str(self.root), "<temp>")


def _last_lines(text: str, count: int = 6) -> str:
    """Git's last few lines: the reason sits at the end, hints before it."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("hint:")]
    return "\n".join(lines[-count:])


def remote_head(workspace: Workspace) -> str | None:
    """The commit at the branch on the remote, or None when the branch (or repo) is empty."""
    target = workspace.target
    out = workspace.git(
        "ls-remote", "--heads", "--", target.url, f"refs/heads/{target.branch}", cwd=workspace.root
    )
    for line in out.splitlines():
        commit, _, ref = line.partition("\t")
        if ref == f"refs/heads/{target.branch}":
            return commit.strip()
    return None


def checkout(workspace: Workspace) -> str | None:
    """Make `workspace.repo` the branch's head (fetched, checked out), or an empty repository
    on that branch when the remote has none yet; returns the head commit or None."""
    target = workspace.target
    workspace.git("init", "-q", "-b", target.branch, str(workspace.repo), cwd=workspace.root)
    head = remote_head(workspace)
    if head is None:
        return None
    # The URL is given on each command, never written into the clone's config.
    # Only the head: a sync reads the branch's files and commits on top, never its history.
    workspace.git(
        "fetch", "-q", "--no-tags", "--depth=1", "--", target.url, f"refs/heads/{target.branch}"
    )
    workspace.git("reset", "-q", "--hard", "FETCH_HEAD")
    return workspace.git("rev-parse", "HEAD").strip()


def subject(workspace: Workspace) -> str:
    """The first line of HEAD's commit message (for the versions a pull creates)."""
    return workspace.git("log", "-1", "--format=%s", "HEAD").strip()[:300]


def commit_all(workspace: Workspace, paths: list[str], author: str, message: str) -> str | None:
    """Stage `paths` (added, changed or removed) and commit them as `author`; returns the new
    commit, or None when nothing changed."""
    workspace.git("add", "-A", "--", *paths)
    if workspace.succeeds("diff", "--cached", "--quiet"):
        return None
    workspace.git("commit", "-q", "--no-verify", f"--author={author}", "-m", message)
    return workspace.git("rev-parse", "HEAD").strip()


def push(workspace: Workspace) -> None:
    """Push HEAD to the branch. Never forced: every commit Ferry makes sits on top of the
    head it fetched, so git's history (another person's work included) is always kept, and
    a remote that moved meanwhile refuses the push (GitError.rejected)."""
    target = workspace.target
    workspace.git("push", "-q", "--", target.url, f"HEAD:refs/heads/{target.branch}")


def author_line(name: str, email: str) -> str:
    """`Name <email>` for --author, with the characters git would misread taken out."""
    clean = "".join(ch for ch in name if ch not in "<>\n\r\0").strip() or email.split("@")[0]
    address = "".join(ch for ch in email if ch not in "<>\n\r\0 ").strip() or "unknown"
    return f"{clean} <{address}>"
