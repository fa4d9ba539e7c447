"""A local bare repository and a second person's clone of it, for the git sync tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

GIT_ENV = ["-c", "user.name=Grace Git", "-c", "user.email=grace@example.org"]


# One webhook → one step workflow whose body each test sets ({body}), and where its job file
# lands in the repository.
PATIENT_SYNC = """
name: Patient sync
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch patients
    adaptor: common@1
    body: |
      {body}
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
"""
JOB_FILE = "jobs/patient-sync/fetch.py"


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git as the second person would (their own name), failing the test on an error."""
    done = subprocess.run(
        ["git", *GIT_ENV, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bare_repository(root: Path) -> Path:
    """An empty bare repository whose default branch is main."""
    path = root / "remote.git"
    git("init", "-q", "--bare", "-b", "main", str(path))
    return path


def log(bare: Path, branch: str = "main") -> list[list[str]]:
    """Each commit on the branch, newest first, as [author name, author email, subject]."""
    out = git("-C", str(bare), "log", "--format=%an%x1f%ae%x1f%s", branch)
    return [line.split("\x1f") for line in out.splitlines()]


class Clone:
    """Someone else's working copy of the repository."""

    def __init__(self, bare: Path, root: Path) -> None:
        self.path = root / "someone-else"
        git("clone", "-q", "-b", "main", str(bare), str(self.path))

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text()

    def document(self) -> dict:
        return yaml.safe_load(self.read("project.yaml"))

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def push(self, message: str) -> str:
        git("-C", str(self.path), "add", "-A")
        git("-C", str(self.path), "commit", "-q", "-m", message)
        git("-C", str(self.path), "push", "-q", "origin", "HEAD:main")
        return git("-C", str(self.path), "rev-parse", "HEAD").strip()
