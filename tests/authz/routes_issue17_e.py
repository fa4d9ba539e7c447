"""Matrix entries for issue 17's collections: members browse collections and their entries;
editors create and delete collections and remove entries, on the pages and in the API."""

from __future__ import annotations

from app.services.collections import items, store
from app.services.errors import NotFound
from tests.authz.rules import Rule

API = {"api": True}
NAME, KEY = "authz-bag", "authz-key"


def _collection(world):
    """The collection "authz-bag" with one entry, in the world's project."""
    try:
        store.get_collection(world.project.id, NAME)
    except NotFound:
        store.create_collection(world.project.id, NAME)
        items.set_item(world.project.id, NAME, KEY, {"seen": True})
    return NAME


ROUTES = {
    "collections.index": Rule("viewer"),
    "collections.create": Rule("editor", data={"name": "authz-new"}),
    "collections.show": Rule("viewer"),
    "collections.entry": Rule("viewer", query={"key": KEY}),
    "collections.remove_entry": Rule("editor", data={"key": KEY}),
    "collections.confirm_delete": Rule("editor"),
    "collections.delete": Rule("editor", data={"confirm": NAME}),
    "collections_api.list_collections": Rule("viewer", **API),
    "collections_api.create_collection": Rule(
        "editor",
        cross_project=False,
        note="creates a collection of that name in the URL's project: no object to leak",
        **API,
    ),
    "collections_api.delete_collection_or_entries": Rule("editor", **API),
    "collections_api.list_entries": Rule("viewer", query={"key": "authz-*"}, **API),
    "collections_api.set_entries": Rule(
        "editor", data={"items": [{"key": "k-1", "value": [1, 2]}]}, **API
    ),
    "collections_api.get_entry": Rule("viewer", **API),
    "collections_api.set_entry": Rule("editor", data={"v": 1}, **API),
    "collections_api.delete_entry": Rule("editor", **API),
}
PARAMS = {"collection_name": _collection, "entry_key": lambda world: KEY}
