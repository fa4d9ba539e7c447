"""Sharing credentials into projects: owner-only, members see names and steps, audited."""

from __future__ import annotations

import pytest

from app.models import Role
from app.services import audit
from app.services.credentials import lookup, overview, sharing, store
from app.services.errors import Forbidden, Invalid, NotFound
from tests import factories
from tests.services.credentials.test_store import make_credential

STEP_USING = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  load:
    name: Load into DHIS2
    adaptor: http@1
    credential: {credential}
    body: |
      fn(lambda state: state)
edges:
  webhook->load:
    source_trigger: webhook
    target_job: load
    condition_type: always
"""


def workflow_using(project, credential_name: str, name: str = "Patient sync"):
    """A saved workflow whose one step uses the named credential."""
    return factories.workflow(
        project, STEP_USING.format(name=name, credential=f'"{credential_name}"')
    )


def test_owner_shares_into_own_project_and_members_then_see_it(db, user):
    project = factories.project(user, "Malaria")
    member = factories.user()
    factories.member(project, member, Role.VIEWER)
    credential = make_credential(user)
    with pytest.raises(NotFound):
        lookup.credential_for(member, credential.id)
    sharing.share(user, credential.id, project.id)
    assert lookup.credential_for(member, credential.id).id == credential.id
    rows = sharing.list_for_project(project.id)
    assert [(r.name, r.owner, r.type_label) for r in rows] == [
        ("DHIS2 test", user.display_name, "DHIS2")
    ]
    assert [r.name for r in sharing.list_for_user(member)] == ["DHIS2 test"]


def test_sharing_only_into_projects_the_owner_belongs_to(db, user):
    credential = make_credential(user)
    elsewhere = factories.project(factories.user())
    with pytest.raises(Invalid) as caught:
        sharing.share(user, credential.id, elsewhere.id)
    assert caught.value.field == "project_id"
    mine = factories.project(user)
    sharing.share(user, credential.id, mine.id)
    with pytest.raises(Invalid):
        sharing.share(user, credential.id, mine.id)  # already shared


@pytest.mark.parametrize("role", list(Role))
def test_nobody_but_the_owner_shares_or_unshares(db, user, role):
    project = factories.project(user)
    other = factories.user()
    factories.member(project, other, role)
    credential = make_credential(user)
    sharing.share(user, credential.id, project.id)
    with pytest.raises(Forbidden):
        sharing.share(other, credential.id, project.id)
    with pytest.raises(Forbidden):
        sharing.unshare(other, credential.id, project.id)
    with pytest.raises(Forbidden):
        lookup.credential_for(other, credential.id, owner_only=True)


def test_steps_using_a_credential_are_listed(db, user):
    project = factories.project(user, "Malaria")
    credential = make_credential(user, "DHIS2 production")
    sharing.share(user, credential.id, project.id)
    workflow_using(project, "DHIS2 production")
    uses = sharing.steps_using(credential.id)
    assert [(u.project_name, u.workflow_name, u.step_name) for u in uses] == [
        ("Malaria", "Patient sync", "Load into DHIS2")
    ]
    assert sharing.steps_using(credential.id, [factories.project(user).id]) == []


def test_members_see_only_steps_in_their_own_projects(db, user):
    one, two = factories.project(user, "One"), factories.project(user, "Two")
    credential = make_credential(user, "Shared")
    for project in (one, two):
        sharing.share(user, credential.id, project.id)
    workflow_using(one, "Shared", "In one")
    workflow_using(two, "Shared", "In two")
    member = factories.user()
    factories.member(one, member, Role.EDITOR)
    view = overview.overview(member, credential)
    assert [s.workflow_name for s in view.steps] == ["In one"]
    assert [p.name for p in view.projects] == ["One"]
    assert view.values == {} and view.trail == () and view.pending is None
    owner_view = overview.overview(user, credential)
    assert [s.workflow_name for s in owner_view.steps] == ["In one", "In two"]
    assert owner_view.values["username"] == "admin"


def test_unsharing_is_audited_and_runs_then_report_it(db, user):
    project = factories.project(user, "Malaria")
    credential = make_credential(user)
    sharing.share(user, credential.id, project.id)
    sharing.unshare(user, credential.id, project.id)
    with pytest.raises(NotFound):
        sharing.unshare(user, credential.id, project.id)
    entries = audit.trail(audit.CREDENTIAL, credential.id)
    assert [e.event for e in entries] == ["unshared", "shared", "created"]
    assert entries[0].changes["project"] == "Malaria"
    assert credential.id in store.credentials_for_run({credential.id}, project.id).problems
