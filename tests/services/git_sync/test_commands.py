"""The git command line as Ferry runs it: a throw-away clone, the author on each commit, and
secrets kept out of URLs, git's config and every message."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from app.services.git_sync import commands
from app.services.git_sync.commands import GitError, Target, Workspace

TOKEN = "ghp_s3cretT0kenValue1234567890"
KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDsecretkeymaterialthatmustneverleakAAAAAAAAAAAAAAAAAAAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.fixture
def bare(tmp_path) -> Path:
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def _log(bare: Path, branch: str = "main") -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(bare), "log", "--format=%an%n%ae%n%cn%n%s", branch],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_a_commit_is_pushed_with_the_author_and_ferry_as_committer(bare):
    target = Target(str(bare), "main", local=True)
    with Workspace(target) as workspace:
        assert commands.checkout(workspace) is None  # an empty repository
        (workspace.repo / "project.yaml").write_text("name: Clinic\n")
        author = commands.author_line("Ann <Admin>", "ann@example.org")
        commit = commands.commit_all(workspace, ["project.yaml"], author, "Save Sync version 2")
        assert commit and len(commit) == 40
        assert commands.commit_all(workspace, ["project.yaml"], author, "nothing") is None
        commands.push(workspace)
    assert _log(bare) == ["Ann Admin", "ann@example.org", "Ferry", "Save Sync version 2"]
    with Workspace(target) as again:
        assert commands.checkout(again) == commit
        assert (again.repo / "project.yaml").read_text() == "name: Clinic\n"
    assert not workspace.root.exists(), "the temporary clone is removed"


def test_a_push_behind_the_remote_is_refused_as_rejected_not_forced(bare):
    target = Target(str(bare), "main", local=True)
    with Workspace(target) as first, Workspace(target) as second:
        for workspace in (first, second):
            commands.checkout(workspace)
        for workspace, text in ((first, "one"), (second, "two")):
            (workspace.repo / "f").write_text(text)
            commands.commit_all(workspace, ["f"], "A <a@example.org>", text)
        commands.push(first)
        with pytest.raises(GitError) as refused:
            commands.push(second)
    assert refused.value.rejected
    assert _log(bare)[-1] == "one"


def test_a_token_is_in_no_config_file_no_url_and_no_message(bare, tmp_path):
    # A local path holding the token makes git print it in its error: it must come out ***.
    target = Target(str(tmp_path / f"missing-{TOKEN}"), "main", "https_token", TOKEN, local=True)
    with Workspace(target) as workspace:
        with pytest.raises(GitError) as failed:
            commands.checkout(workspace)
        config = (workspace.repo / ".git" / "config").read_text()
        token_file = workspace.root / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert TOKEN not in " ".join(workspace.env.values())
    assert TOKEN not in failed.value.message and "***" in failed.value.message
    assert TOKEN not in config
    assert not token_file.exists()


def test_an_https_token_reaches_git_only_through_the_askpass_helper(bare):
    target = Target("https://example.org/org/repo.git", "main", "https_token", TOKEN)
    with Workspace(target) as workspace:
        helper = workspace.env["GIT_ASKPASS"]
        answer = subprocess.run(
            [helper, "Password for 'https://x-access-token@example.org': "],
            capture_output=True,
            text=True,
            check=True,
        )
        user = subprocess.run([helper, "Username for"], capture_output=True, text=True)
    assert answer.stdout == TOKEN
    assert user.stdout.strip() == "x-access-token"


def test_an_ssh_key_is_a_0600_file_named_by_git_ssh_command_and_scrubbed(bare):
    target = Target("ssh://git@127.0.0.1:9/org/repo.git", "main", "ssh_key", KEY)
    with Workspace(target) as workspace:
        key_file = workspace.root / "deploy_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert f"-i {key_file}" in workspace.env["GIT_SSH_COMMAND"]
        assert "StrictHostKeyChecking=accept-new" in workspace.env["GIT_SSH_COMMAND"]
        with pytest.raises(GitError) as failed:
            commands.remote_head(workspace)
        scrubbed = workspace.scrub(f"oops {KEY.splitlines()[1]} here")
    assert "secretkeymaterial" not in failed.value.message
    assert scrubbed == "oops *** here"
    assert not key_file.exists()


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch {marker}",
        "ext::sh -c touch% {marker}",
        "fd::17",
    ],
)
def test_option_and_transport_injection_runs_nothing(url, tmp_path):
    """The URL checks refuse these first (test_remotes); git itself is also told so."""
    marker = tmp_path / "pwned"
    target = Target(url.format(marker=marker), "main", local=False)
    with Workspace(target) as workspace, pytest.raises(GitError):
        commands.checkout(workspace)
    assert not marker.exists()


def test_the_author_line_drops_what_git_would_misread():
    assert commands.author_line("Eve <x>\nInjected", "e<v>e@example.org") == (
        "Eve xInjected <eve@example.org>"
    )
    assert commands.author_line("", "ann@example.org") == "ann <ann@example.org>"
