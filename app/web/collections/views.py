"""Collection pages: the project's collections (create, delete by typing the name), and one
collection's entries, searched by key pattern and paged by key, each value shown as JSON.

Members read; editors create, delete and remove entries (as jobs and the API write).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.models import Role
from app.services.collections import items, rules, store
from app.services.errors import Invalid
from app.web.access import ProjectAccess, project_access
from app.web.api import openapi
from app.web.collections import api, openapi_paths
from app.web.collections.forms import CreateForm, DeleteForm, RemoveEntryForm
from app.web.navigation import NavItem

bp = Blueprint("collections", __name__)
NAV = NavItem("Collections", "collection", "collections.index", 45)


def configure(app: Flask) -> None:
    """The token-authenticated collections API is a blueprint of its own; its paths join
    the API's OpenAPI document (the same dict every time, so configuring twice is harmless)."""
    app.register_blueprint(api.bp)
    openapi.SPEC["paths"].update(openapi_paths.PATHS)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every collections page needs a signed-in user."""


@bp.get("/projects/<uuid:project_id>/collections")
def index(project_id: uuid.UUID):
    """The project's collections with their entries, size and last change."""
    access = project_access(project_id)
    return _index_page(access, CreateForm(formdata=None))


@bp.post("/projects/<uuid:project_id>/collections")
def create(project_id: uuid.UUID):
    """Create an empty collection."""
    access = project_access(project_id, Role.EDITOR)
    form = CreateForm()
    if not form.validate_on_submit():
        return _index_page(access, form, status=422)
    try:
        collection = store.create_collection(project_id, form.name.data, current_user.id)
    except Invalid as error:
        form.name.errors.append(error.message)
        return _index_page(access, form, status=422)
    flash(f"Collection “{collection.name}” created. Jobs can now use it.", "success")
    return redirect(url_for(".show", project_id=project_id, collection_name=collection.name))


@bp.get("/projects/<uuid:project_id>/collections/<collection_name>")
def show(project_id: uuid.UUID, collection_name: str):
    """A page of the collection's entries, keys matching `?key=` (default every key)."""
    access = project_access(project_id)
    collection = store.get_collection(project_id, collection_name)
    pattern = request.args.get("key", "").strip() or rules.WILDCARD
    error, page = None, None
    try:
        page = items.list_items(
            project_id, collection.name, pattern, cursor=request.args.get("cursor") or None
        )
    except Invalid as problem:
        error, page = problem.message, items.list_items(project_id, collection.name)
    return render_template(
        "collections/show.html",
        access=access,
        project=access.project,
        collection=collection,
        pattern="" if pattern == rules.WILDCARD else pattern,
        page=page,
        error=error,
        cursor=request.args.get("cursor"),
        can_edit=access.can(Role.EDITOR),
    ), (422 if error else 200)


@bp.get("/projects/<uuid:project_id>/collections/<collection_name>/entry")
def entry(project_id: uuid.UUID, collection_name: str):
    """One entry's value as indented JSON (`?key=`)."""
    access = project_access(project_id)
    collection = store.get_collection(project_id, collection_name)
    key = request.args.get("key", "")
    try:
        item = items.get_item(project_id, collection.name, key)
    except Invalid as problem:
        item, error = None, problem.message
    else:
        error = None if item is not None else f"The collection has no key “{key}” (any more)."
    return render_template(
        "collections/entry.html",
        access=access,
        project=access.project,
        collection=collection,
        key=key,
        item=item,
        error=error,
        form=RemoveEntryForm(formdata=None, key=key),
        can_edit=access.can(Role.EDITOR),
    ), (200 if item is not None else 404)


@bp.post("/projects/<uuid:project_id>/collections/<collection_name>/entry/delete")
def remove_entry(project_id: uuid.UUID, collection_name: str):
    """Remove one entry, then show the collection again."""
    project_access(project_id, Role.EDITOR)
    collection = store.get_collection(project_id, collection_name)
    form = RemoveEntryForm()
    if not form.validate_on_submit():
        flash("Say which key to remove.", "danger")
    else:
        key = rules.check_key(form.key.data)
        removed = items.remove(project_id, collection.name, key)
        message = f"Entry “{key}” removed." if removed else f"There was no entry “{key}”."
        flash(message, "success" if removed else "warning")
    return redirect(url_for(".show", project_id=project_id, collection_name=collection.name))


@bp.get("/projects/<uuid:project_id>/collections/<collection_name>/delete")
def confirm_delete(project_id: uuid.UUID, collection_name: str):
    """Ask to type the collection's name before deleting it and its entries."""
    access = project_access(project_id, Role.EDITOR)
    return _delete_page(access, collection_name, DeleteForm(formdata=None))


@bp.post("/projects/<uuid:project_id>/collections/<collection_name>/delete")
def delete(project_id: uuid.UUID, collection_name: str):
    """Delete the collection and every entry, once its name was typed."""
    access = project_access(project_id, Role.EDITOR)
    form = DeleteForm()
    if not form.validate_on_submit():
        return _delete_page(access, collection_name, form, status=422)
    try:
        removed = store.delete_collection(
            project_id, collection_name, confirm=form.confirm.data, actor_id=current_user.id
        )
    except Invalid as error:
        form.confirm.errors.append(error.message)
        return _delete_page(access, collection_name, form, status=422)
    flash(f"Collection “{collection_name}” deleted with its {removed:,} entries.", "success")
    return redirect(url_for(".index", project_id=project_id))


def _index_page(access: ProjectAccess, form: CreateForm, status: int = 200):
    summaries = store.list_collections(access.project.id)
    return render_template(
        "collections/index.html",
        access=access,
        project=access.project,
        summaries=summaries,
        form=form,
        can_edit=access.can(Role.EDITOR),
        human_size=rules.human_size,
    ), status


def _delete_page(access: ProjectAccess, name: str, form: DeleteForm, status: int = 200):
    summary = store.summary(access.project.id, name)
    return render_template(
        "collections/delete.html",
        access=access,
        project=access.project,
        summary=summary,
        form=form,
    ), status
