"""The Git sync tab: members read it, admins connect, test, pull, resolve and disconnect; bad
input is answered next to its field with nothing stored; the secret is never rendered back;
a conflict shows both versions with a line diff and the two ways out."""

from __future__ import annotations

import json
import subprocess
from html import unescape

import pytest
from redis import Redis

from app.models import ProjectGitRemote, Role
from app.services.git_sync import remotes
from tests import factories
from tests.support import csrf_token_from, log_in

TOKEN = "ghp_PageSecretToken0123456789"


@pytest.fixture
def owner_client(client, user):
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302
    return client


@pytest.fixture
def bare(tmp_path):
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture(autouse=True)
def _empty_queue(app):
    """The saves and buttons queue sync jobs in this test's Redis; start each test empty."""
    Redis.from_url(app.config["REDIS_URL"]).delete("rq:queue:default")


def url(project, action: str = "") -> str:
    return f"/projects/{project.id}/settings/git" + (f"/{action}" if action else "")


def post(client, project, action: str, data: dict):
    token = csrf_token_from(client.get(url(project)).get_data(as_text=True))
    return client.post(url(project, action), data={**data, "csrf_token": token})


def page(client, project) -> str:
    return unescape(client.get(url(project)).get_data(as_text=True))


def test_an_unconnected_project_offers_to_connect(owner_client, project):
    html = page(owner_client, project)
    assert "Connect a git repository" in html
    assert 'aria-current="page"' in html and "Git sync" in html


def test_connecting_stores_the_token_encrypted_queues_a_sync_and_never_shows_it(
    owner_client, project, db, app
):
    reply = post(
        owner_client,
        project,
        "",
        {
            "url": "https://example.org/org/repo.git",
            "branch": "main",
            "auth_kind": "https_token",
            "secret": TOKEN,
        },
    )
    assert reply.status_code == 302
    remote = db.session.get(ProjectGitRemote, project.id)
    assert remote.status == "pending" and TOKEN.encode() not in remote.secret_encrypted
    assert Redis.from_url(app.config["REDIS_URL"]).llen("rq:queue:default") == 1
    html = page(owner_client, project)
    assert TOKEN not in html and "leave empty to keep the saved one" in html
    assert "https://example.org/org/repo.git" in html and "Syncing" in html


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"url": "", "auth_kind": "none"}, "Give the repository's URL"),
        ({"url": "ext::sh -c id", "auth_kind": "none"}, "https://, ssh:// or git@host:path"),
        ({"url": "-uhelp", "auth_kind": "none"}, "https://, ssh:// or git@host:path"),
        ({"url": "https://e.org/r.git", "branch": "--force", "auth_kind": "none"}, "branch"),
        ({"url": "https://e.org/r.git", "auth_kind": "kerberos"}, "Choose how Ferry signs in"),
        ({"url": "https://e.org/r.git", "auth_kind": "https_token"}, "Give the deploy key"),
        ({"url": "https://e.org/" + "r" * 2100, "auth_kind": "none"}, "too long"),
    ],
)
def test_bad_input_is_answered_next_to_its_field_and_nothing_is_stored(
    owner_client, project, db, data, words
):
    reply = post(owner_client, project, "", {"branch": "main", **data})
    assert reply.status_code == 422
    assert words in unescape(reply.get_data(as_text=True))
    assert db.session.get(ProjectGitRemote, project.id) is None


def test_a_nul_character_is_refused_and_nothing_is_stored(owner_client, project, db):
    reply = post(owner_client, project, "", {"url": "https://e.org/r\x00.git", "auth_kind": "none"})
    assert reply.status_code == 400
    assert db.session.get(ProjectGitRemote, project.id) is None


def test_a_refused_save_does_not_render_the_typed_secret_back(owner_client, project):
    data = {"url": "ftp://e.org/r.git", "auth_kind": "https_token", "secret": TOKEN}
    reply = post(owner_client, project, "", data)
    assert reply.status_code == 422 and TOKEN not in reply.get_data(as_text=True)


def test_members_read_the_tab_but_only_admins_change_it(app, project, user, bare):
    remotes.connect(user, project.id, str(bare), "main", "none", "")
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    client = app.test_client()
    log_in(client, viewer.email, factories.PASSWORD)
    html = page(client, project)
    assert "You can read these settings" in html
    assert "Pull from git</button>" not in html and "Connect</button>" not in html
    token = csrf_token_from(html)
    reply = client.post(url(project, "pull"), data={"csrf_token": token})
    assert reply.status_code == 403


def test_test_connection_reports_the_branch(owner_client, project, user, bare):
    remotes.connect(user, project.id, str(bare), "main", "none", "")
    post(owner_client, project, "test", {})
    assert "does not exist yet" in page(owner_client, project)


def test_pull_queues_a_sync_and_the_status_card_polls_while_pending(
    owner_client, project, user, bare, app
):
    remotes.connect(user, project.id, str(bare), "main", "none", "")
    assert post(owner_client, project, "pull", {}).status_code == 302
    card = owner_client.get(url(project, "status")).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in card and 'data-status="pending"' in card
    assert Redis.from_url(app.config["REDIS_URL"]).llen("rq:queue:default") == 1


def test_a_conflict_shows_both_versions_and_the_two_ways_out(
    owner_client, project, user, bare, db, app
):
    remote = remotes.connect(user, project.id, str(bare), "main", "none", "")
    remote.status = "conflict"
    remote.last_error = json.dumps(
        {
            "commit": "c0ffee" * 6 + "abcd",
            "clashes": [
                {
                    "path": "workflows.sync.jobs.fetch.body",
                    "ours": "get('/a')\nlog('ferry')\n",
                    "theirs": "get('/a')\nlog('git')\n",
                },
                {"path": "workflows.sync.name", "ours": "Sync", "theirs": None},
            ],
        }
    )
    db.session.commit()
    html = page(owner_client, project)
    assert "Ferry and git both changed the same entries" in html
    assert "-log('ferry')" in html and "+log('git')" in html
    assert "(removed)" in html
    assert "Keep Ferry's (push over)" in html and "Take git's (apply)" in html
    assert post(owner_client, project, "resolve", {"choice": "sideways"}).status_code == 302
    assert "Choose Keep Ferry's or Take git's." in page(owner_client, project)
    post(owner_client, project, "resolve", {"choice": "theirs"})
    assert db.session.get(ProjectGitRemote, project.id).status == "pending"
    assert Redis.from_url(app.config["REDIS_URL"]).llen("rq:queue:default") == 1


def test_a_failed_sync_shows_git_s_words(owner_client, project, user, bare, db):
    remote = remotes.connect(user, project.id, str(bare), "main", "none", "")
    remote.status, remote.last_error = "failed", "fatal: repository not found"
    db.session.commit()
    assert "fatal: repository not found" in page(owner_client, project)


def test_disconnect_forgets_the_remote(owner_client, project, user, bare, db):
    remotes.connect(user, project.id, str(bare), "main", "none", "")
    assert post(owner_client, project, "disconnect", {}).status_code == 302
    assert db.session.get(ProjectGitRemote, project.id) is None
    post(owner_client, project, "disconnect", {})
    assert "not connected to git" in page(owner_client, project)


def test_another_project_s_tab_is_not_found_for_an_outsider(owner_client, db):
    stranger = factories.user()
    other = factories.project(stranger, "Elsewhere")
    assert owner_client.get(url(other)).status_code == 404
