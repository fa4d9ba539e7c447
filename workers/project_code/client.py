"""Calls to a Ferry server's provisioning API (`/api/v1`) with the bearer token, and every way
one can fail turned into a `Failure` that says what to do: the server cannot be reached
(exit 3), the token is refused (401) or lacks the role (403), the project is unknown (404),
the document has problems (422, each with its path)."""

from __future__ import annotations

import uuid

import httpx

from app.services.errors import Invalid
from app.services.parsing import load_yaml
from workers.project_code.config import Connection
from workers.project_code.failure import REFUSED, UNREACHABLE, Failure

TIMEOUT_S = 60.0


class Refused(Failure):
    """The server refused a document (422); `problems` are {"path", "message"} dicts."""

    def __init__(self, message: str, problems: list[dict]):
        super().__init__(message, REFUSED)
        self.problems = problems


class Api:
    """The provisioning API of one server, as one user (the token's)."""

    def __init__(self, connection: Connection, transport: httpx.BaseTransport | None = None):
        self.connection = connection
        self.http = httpx.Client(
            base_url=f"{connection.endpoint}/api/v1",
            headers={"Authorization": f"Bearer {connection.token}", "Accept": "application/json"},
            timeout=TIMEOUT_S,
            transport=transport,
        )

    def projects(self) -> list[dict]:
        """The projects the token's user can open (id, name, role)."""
        return self._call("GET", "/projects", what="The project list")["projects"]

    def document(self, project_id: str) -> dict:
        """The project document with ids (workflows and their entries). Asked for as YAML:
        JSON answers have their keys sorted, and the YAML keeps the document's own order
        (name first, workflows last), which project.yaml is written in."""
        text = self._call(
            "GET",
            f"/projects/{project_id}/document",
            params={"ids": "true", "format": "yaml"},
            what=_p(project_id),
            as_text=True,
        )
        try:
            found = load_yaml(text, field="document", what="The server's document")
        except Invalid as error:
            raise Failure(f"{self.connection.endpoint}: {error.message}", REFUSED) from None
        if not isinstance(found, dict):
            raise Failure(f"{self.connection.endpoint} answered a document that is not a mapping.")
        return found

    def workflows(self, project_id: str) -> list[dict]:
        """The project's workflows with their ids, names and lock versions."""
        body = self._call("GET", f"/projects/{project_id}/workflows", what=_p(project_id))
        return body["workflows"]

    def plan(self, project_id: str, document: dict) -> list[dict]:
        """What applying `document` would change ({"path", "kind"} each); nothing is written."""
        body = self._call(
            "PUT",
            f"/projects/{project_id}/document",
            params={"dry_run": "true"},
            json=document,
            what=_p(project_id),
        )
        return body.get("changes") or []

    def apply(self, project_id: str, document: dict) -> dict:
        """Apply `document`; the answer holds the new document (with ids) and the changes."""
        return self._call(
            "PUT", f"/projects/{project_id}/document", json=document, what=_p(project_id)
        )

    def _call(self, method: str, path: str, *, what: str, as_text: bool = False, **kwargs):
        endpoint = self.connection.endpoint
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise Failure(
                f"Cannot reach Ferry at {endpoint} (from {self.connection.endpoint_source}): "
                f"{error or type(error).__name__}. Is the server running and the address right?",
                UNREACHABLE,
            ) from None
        if as_text and response.is_success:
            return response.text
        body = _json(response)
        if response.is_success and isinstance(body, dict):
            return body
        said = body.get("error") if isinstance(body, dict) else None
        status = response.status_code
        if response.is_success:
            raise Failure(f"{endpoint} answered something other than JSON: is it a Ferry server?")
        if status == 401:
            raise Failure(
                f"{endpoint} refused the API token from {self.connection.token_source} (401): "
                f"{said or 'not a valid token'}",
                REFUSED,
            )
        if status == 403:
            raise Failure(
                f"Your token's user may not do this in the project (403): {said or ''} "
                "Reading needs a member of the project; deploying needs an admin or owner.",
                REFUSED,
            )
        if status == 404:
            if said is None:
                raise Failure(
                    f"{endpoint} has no {response.request.url.path} (404): is it a Ferry "
                    "server of a version with the project document API?",
                    REFUSED,
                )
            raise Failure(
                f"{what} is not on {endpoint}, or you are not its member: {said}", REFUSED
            )
        if status == 422 and isinstance(body, dict) and (body.get("problems") or said):
            problems = body.get("problems") or [{"path": body.get("field") or "", "message": said}]
            count = f"{len(problems)} problem{'s' * (len(problems) != 1)}"
            raise Refused(
                f"{endpoint} refused the document ({count}); nothing was changed:", problems
            )
        if status >= 500:
            raise Failure(
                f"{endpoint} failed ({status}){': ' + said if said else ''}. Try again; if it "
                "keeps failing, the server's log says why.",
                REFUSED,
            )
        raise Failure(
            f"{endpoint} refused the request ({status}): {said or response.text[:200]}", REFUSED
        )


def project_id_for(api: Api, given: str) -> str:
    """A project id from what the person typed: the id itself, or a project's exact name."""
    try:
        return str(uuid.UUID(given))
    except ValueError:
        pass
    matches = [p for p in api.projects() if p["name"] == given]
    if not matches:
        folded = given.casefold()
        matches = [p for p in api.projects() if p["name"].casefold() == folded]
    if len(matches) == 1:
        return matches[0]["id"]
    if not matches:
        raise Failure(
            f"You have no project named {given!r} on {api.connection.endpoint}; give its id "
            "(in the project's URL) or its exact name.",
            REFUSED,
        )
    ids = ", ".join(p["id"] for p in matches)
    raise Failure(f"Several of your projects are named {given!r}: give one of their ids ({ids}).")


def _json(response: httpx.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _p(project_id: str) -> str:
    return f"Project {project_id}"
