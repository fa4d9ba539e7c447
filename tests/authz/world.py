"""Building the matrix's `World` (tests/authz/rules.py) through the services, and a signed-in
session (cookie and CSRF token) for each of its users."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask, g, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.extensions import db
from app.models import BulkRerun, Credential, Dataclip, MailMessage, Role, Run, StepRun, User
from app.models.base import utcnow
from app.models.bulk import BulkRerunState
from app.services import accounts
from app.services.credentials import forms as credential_forms
from app.services.credentials import oauth, sharing
from app.services.credentials import transfers as credential_transfers
from app.services.encryption import encrypt_json
from app.services.studio import run_panel
from tests import factories, history_factories
from tests.authz.rules import World

MEMBER_ROLES = {"viewer": Role.VIEWER, "editor": Role.EDITOR, "admin": Role.ADMIN}


@dataclass(frozen=True)
class Session:
    """What a browser of one role sends: its session cookie and the CSRF token matching it."""

    cookie: str
    csrf_token: str


def build_world() -> World:
    """Every row the matrix points at, committed into the caller's transaction, then detached
    (so a case rolling its savepoint back cannot expire them)."""
    owner = factories.user(email="owner@authz.example.org")
    project = factories.project(owner, "Authz clinic")
    users = {"owner": owner}
    for name, role in MEMBER_ROLES.items():
        users[name] = factories.user(email=f"{name}@authz.example.org")
        factories.member(project, users[name], role)
    users["outsider"] = factories.user(email="outsider@authz.example.org")
    users["superuser"] = factories.user(superuser=True, email="superuser@authz.example.org")
    other_owner = factories.user(email="other-owner@authz.example.org")
    other_project = factories.project(other_owner, "Authz other project")

    workflow = history_factories.workflow(project, "Authz flow")
    trigger = workflow.triggers[0]
    step = next(s for s in workflow.steps if s.key == "fetch")
    work_order = history_factories.work_order(
        workflow, state="failed", logs=[("info", "fetched 3 cases")]
    )
    run = db.session.scalar(select(Run).where(Run.work_order_id == work_order.id))
    step_run = db.session.scalar(
        select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at)
    )
    dataclip = db.session.get(Dataclip, work_order.dataclip_id)
    saved_input = run_panel.save_input(project.id, "Authz case", custom_text='{"case": 1}')

    credential = factories.shared_dhis2_credential(owner, project, "authz-secret-password")
    credential_transfers.request_transfer(owner, credential.id, users["editor"].email)
    mail = db.session.scalar(
        select(MailMessage).where(MailMessage.to_address == users["editor"].email)
    )
    transfer_token = re.search(r"/credentials/transfers/(\S+)", mail.text).group(1)
    oauth_client = oauth.save_client(
        users["superuser"],
        None,
        {
            "name": "Authz provider",
            "authorization_endpoint": "https://idp.example.org/authorize",
            "token_endpoint": "https://idp.example.org/token",
            "client_id": "authz-client",
            "client_secret": "authz-client-secret",
        },
    )
    oauth_credential = Credential(
        user_id=owner.id,
        name="Authz OAuth",
        schema=credential_forms.OAUTH,
        oauth_client_id=oauth_client.id,
        body_encrypted=encrypt_json({"access_token": "authz-access-token"}),
    )
    db.session.add(oauth_credential)
    db.session.flush()
    sharing.share(owner, oauth_credential.id, project.id)
    bulk_rerun = BulkRerun(
        project_id=project.id,
        requested_by_id=owner.id,
        total=0,
        state=BulkRerunState.FINISHED,
        finished_at=utcnow(),
    )
    db.session.add(bulk_rerun)
    db.session.commit()
    other_workflow = history_factories.workflow(other_project, "Other flow")

    tokens = {role: accounts.create_api_token(user.email) for role, user in users.items()}
    world = World(
        project=project,
        other_project=other_project,
        owner=owner,
        admin=users["admin"],
        editor=users["editor"],
        viewer=users["viewer"],
        outsider=users["outsider"],
        superuser=users["superuser"],
        other_owner=other_owner,
        workflow=workflow,
        trigger=trigger,
        step=step,
        work_order=work_order,
        run=run,
        step_run=step_run,
        dataclip=dataclip,
        saved_input=saved_input,
        credential=credential,
        oauth_credential=oauth_credential,
        transfer_token=transfer_token,
        oauth_client=oauth_client,
        bulk_rerun=bulk_rerun,
        other_workflow=other_workflow,
        users=users,
        tokens=tokens,
    )
    world.tokens["other_owner"] = accounts.create_api_token(other_owner.email)
    _detach(world)
    return world


def _detach(world: World) -> None:
    """Load every column of the world's rows, then take them out of the session."""
    for row in [*world.users.values(), *vars(world).values()]:
        if hasattr(row, "__table__"):
            db.session.refresh(row)
    for row in (world.workflow, world.other_workflow):
        for child in (*row.triggers, *row.steps):
            db.session.refresh(child)
    db.session.expunge_all()


def sign_in(app: Flask, user) -> Session:
    """A session as the real sign-in leaves it (`start_session`), without the rate-limited
    login form; `user` None gives an anonymous visitor's session."""
    from app.web.auth.session_start import start_session

    g.__dict__.clear()
    # The session is bound to the browser's address and user agent (session protection
    # "strong"): the same ones the test client sends.
    with app.test_request_context("/", environ_base=app.test_client().environ_base):
        if user is not None:
            start_session(db.session.get(User, user.id), method="password")
        token = generate_csrf()
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
    g.__dict__.clear()
    cookie = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    return Session(cookie=cookie, csrf_token=token)
