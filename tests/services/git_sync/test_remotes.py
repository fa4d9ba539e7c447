"""Connecting a project to git: what is refused before anything is stored (each with the
field to fix), the secret kept encrypted and write-only, and the egress policy applied to the
remote's host."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from app.models import ProjectGitRemote
from app.services import project_settings
from app.services.errors import Invalid, NotFound
from app.services.git_sync import remotes

TOKEN = "glpat-Sup3rSecretTokenValue"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture
def bare(tmp_path):
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Give the repository's URL"),
        (None, "Give the repository's URL"),
        (42, "Give the repository's URL"),
        ("https://example.org/repo\x00.git", "NUL"),
        ("https://example.org/re\npo.git", "control characters"),
        ("https://example.org/re po.git", "spaces"),
        ("-uhelp", "https://, ssh:// or git@host:path"),
        ("--upload-pack=touch /tmp/x", "https://, ssh:// or git@host:path"),
        ("ext::sh -c touch% /tmp/pwned", "https://, ssh:// or git@host:path"),
        ("ext::sh", "https://, ssh:// or git@host:path"),
        ("fd::17", "https://, ssh:// or git@host:path"),
        ("ftp://example.org/repo.git", "https://, ssh:// or git@host:path"),
        ("http://example.org/repo.git", "https://, ssh:// or git@host:path"),
        ("https://user:pa55@example.org/repo.git", "Leave the password or token out"),
        ("https://example.org:99999/repo.git", "port"),
        ("https://example.org/", "names no repository"),
        ("ssh://-oProxyCommand=touch%20x/repo", "names no host"),
        ("ssh://-oProxyCommand=x@example.org/repo", "names no host"),
        ("https://example.org/" + "a" * 2000, "too long"),
    ],
)
def test_bad_urls_are_refused_saying_what_to_fix(url, words):
    with pytest.raises(Invalid) as refused:
        remotes.check_url(url)
    assert refused.value.field == "url"
    assert words in refused.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "ssh://git@example.org:2222/org/repo.git",
        "git@github.com:org/repo.git",
    ],
)
def test_good_urls_are_accepted(url):
    assert remotes.check_url(url) == (url, False)


@pytest.mark.parametrize(
    "branch",
    ["-f", "--force", "a..b", "a b", "a~1", "x:y", "x\x00", "x\ny", "refs/", "x.lock", "a//b", "@"],
)
def test_bad_branches_are_refused(branch):
    with pytest.raises(Invalid) as refused:
        remotes.check_branch(branch)
    assert refused.value.field == "branch"


def test_good_branches_and_the_default():
    assert remotes.check_branch("release/2026-12") == "release/2026-12"
    assert remotes.check_branch("  ") == "main"


def test_local_paths_only_where_allowed(app, db, bare, monkeypatch):
    assert remotes.check_url(str(bare)) == (str(bare), True)
    production_like = dataclasses.replace(app.config["FERRY_SETTINGS"], env="development")
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", production_like)
    for url in (str(bare), f"file://{bare}"):
        with pytest.raises(Invalid, match="Ferry's own machine"):
            remotes.check_url(url)
    allowed = dataclasses.replace(production_like, git_allow_local=True)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", allowed)
    assert remotes.check_url(str(bare))[1] is True


def test_connect_stores_the_token_encrypted_and_a_blank_one_keeps_it(user, project):
    remote = remotes.connect(
        user, project.id, "https://example.org/org/repo.git", "main", "https_token", TOKEN
    )
    assert TOKEN.encode() not in remote.secret_encrypted
    assert remotes.target_of(remote).secret == TOKEN
    remote = remotes.connect(
        user, project.id, "https://example.org/org/repo.git", "dev", "https_token", ""
    )
    assert remotes.target_of(remote).secret == TOKEN and remote.branch == "dev"
    remote = remotes.connect(
        user, project.id, "https://example.org/org/repo.git", "dev", "none", ""
    )
    assert remote.secret_encrypted is None


@pytest.mark.parametrize(
    ("url", "kind", "secret", "field"),
    [
        ("https://example.org/r.git", "password", "x", "auth_kind"),
        ("https://example.org/r.git", None, "x", "auth_kind"),
        ("https://example.org/r.git", "ssh_key", KEY, "auth_kind"),
        ("git@example.org:r.git", "https_token", TOKEN, "auth_kind"),
        ("https://example.org/r.git", "https_token", "", "secret"),
        ("https://example.org/r.git", "https_token", "two words", "secret"),
        ("https://example.org/r.git", "https_token", "tok\x00en", "secret"),
        ("git@example.org:r.git", "ssh_key", "not a key", "secret"),
        ("git@example.org:r.git", "ssh_key", ["a", "list"], "secret"),
    ],
)
def test_connect_refuses_bad_auth_and_stores_nothing(user, project, db, url, kind, secret, field):
    with pytest.raises(Invalid) as refused:
        remotes.connect(user, project.id, url, "main", kind, secret)
    assert refused.value.field == field
    assert db.session.get(ProjectGitRemote, project.id) is None


def test_an_internal_host_is_refused_until_the_egress_allowlist_opens_it(user, project):
    for url in ("https://10.0.0.5/org/repo.git", "git@127.0.0.1:org/repo.git"):
        with pytest.raises(Invalid, match="egress allowlist") as refused:
            remotes.connect(user, project.id, url, "main", "none", "")
        assert refused.value.field == "url"
    project_settings.update_allowlist(user, project.id, "10.0.0.5:443")
    remote = remotes.connect(user, project.id, "https://10.0.0.5/org/repo.git", "main", "none", "")
    assert remote.url == "https://10.0.0.5/org/repo.git"


def test_a_new_url_starts_over_and_disconnect_forgets_the_secret(user, project, bare, db):
    remote = remotes.connect(user, project.id, str(bare), "main", "none", "")
    remote.synced_commit, remote.status = "a" * 40, "ok"
    db.session.commit()
    remote = remotes.connect(user, project.id, str(bare) + "/", "main", "none", "")
    assert (remote.synced_commit, remote.status) == (None, "never")
    remotes.disconnect(user, project.id)
    assert remotes.get_remote(project.id) is None
    with pytest.raises(NotFound):
        remotes.disconnect(user, project.id)


def test_try_connection_reads_the_branch_head(user, project, bare, tmp_path):
    remotes.connect(user, project.id, str(bare), "main", "none", "")
    assert "does not exist yet" in remotes.try_connection(project.id)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    (work / "README").write_text("hello\n")
    env = ["-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "-C", str(work), "add", "README"], check=True)
    subprocess.run(["git", "-C", str(work), *env, "commit", "-qm", "hi"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True)
    assert "is at commit" in remotes.try_connection(project.id)
    remotes.connect(user, project.id, str(tmp_path / "nothing-here"), "main", "none", "")
    with pytest.raises(Invalid, match="could not reach") as failed:
        remotes.try_connection(project.id)
    assert failed.value.field == "connection"


def test_ferry_git_allow_local_is_read_from_the_environment():
    from app.config import ConfigError, Settings

    assert Settings.from_env({}).git_allow_local is False
    assert Settings.from_env({"FERRY_GIT_ALLOW_LOCAL": "true"}).git_allow_local is True
    with pytest.raises(ConfigError, match="FERRY_GIT_ALLOW_LOCAL"):
        Settings.from_env({"FERRY_GIT_ALLOW_LOCAL": "maybe"})
