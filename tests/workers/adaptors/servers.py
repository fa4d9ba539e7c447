"""Real HTTP servers on 127.0.0.1 standing in for the systems the adaptors talk to.

`FakeServer` runs a `ThreadingHTTPServer` in a thread, records every request and hands it to
`handle`, which subclasses override with the routes and answer shapes of the real API.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """What the server answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: object, content_type: str = "application/json") -> Reply:
    """A JSON answer."""
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": f"{content_type};charset=UTF-8"})


def text_reply(status: int, text: str, content_type: str = "text/plain") -> Reply:
    """A text answer."""
    return Reply(status, text.encode(), {"Content-Type": f"{content_type}; charset=utf-8"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        recorded = Recorded(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        fake.requests.append(recorded)
        reply = fake.handle(recorded)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class FakeServer:
    """A recording HTTP server on a free loopback port; use it as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        """scheme://host:port of this server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def handle(self, request: Recorded) -> Reply:
        """Answer one request; subclasses override."""
        return text_reply(404, "not found")

    @property
    def last(self) -> Recorded:
        """The most recent request."""
        return self.requests[-1]


class EchoServer(FakeServer):
    """A generic JSON API for the http adaptor: echoes, statuses, redirects, odd bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.redirect_to: str = ""

    def handle(self, request: Recorded) -> Reply:
        """Route by path."""
        path = request.path
        if path.startswith("/api/echo"):
            return json_reply(
                200,
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query,
                    "body": request.body.decode(),
                    "content_type": request.headers.get("content-type"),
                },
            )
        if path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            return json_reply(status, {"error": f"status {status}", "detail": "x" * 500})
        if path == "/redirect":
            return Reply(302, b"", {"Location": self.redirect_to})
        if path == "/redirect-relative":
            return Reply(307, b"", {"Location": "/api/echo/after-redirect"})
        if path == "/text":
            return text_reply(200, "plain words")
        if path == "/bytes":
            return Reply(200, bytes(range(256)), {"Content-Type": "application/octet-stream"})
        if path == "/cookie":
            return Reply(
                200,
                b"{}",
                {"Content-Type": "application/json", "Set-Cookie": "sid=1", "X-Trace": "t1"},
            )
        if path == "/not-json":
            return Reply(200, b"<html>", {"Content-Type": "application/json"})
        if path == "/slow":
            time.sleep(float(request.param("s") or "2"))
            return json_reply(200, {})
        return json_reply(404, {"error": "no route", "path": path})


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class FakeDhis2(FakeServer):
    """DHIS2's Web API: metadata lists/objects, /api/tracker (sync reports), dataValueSets."""

    USER, PASSWORD, PAT = "admin", "district", "d2pat_TESTTOKEN123"
    TRACKER_KINDS = {"trackedEntities": "TRACKED_ENTITY", "events": "EVENT"}

    def __init__(self) -> None:
        super().__init__()
        self.metadata: dict[str, dict[str, dict]] = {"organisationUnits": {}}
        self.tracker: dict[str, dict[str, dict]] = {"trackedEntities": {}, "events": {}}
        self._next_uid = 0

    def uid(self) -> str:
        """A DHIS2-looking 11-character UID."""
        self._next_uid += 1
        return f"Uid{self._next_uid:08d}"

    def handle(self, request: Recorded) -> Reply:
        """Route like DHIS2 2.40+."""
        auth = request.headers.get("authorization")
        if auth not in (_basic(self.USER, self.PASSWORD), f"ApiToken {self.PAT}"):
            return self._message(401, "Unauthorized", "Unauthorized")
        path = request.path.removeprefix("/api").removesuffix(".json").strip("/").split("/")
        if path[0].isdigit():  # /api/40/... pins the version
            path = path[1:]
        if path == ["tracker"] and request.method == "POST":
            return self._tracker_import(request)
        if path[0] == "tracker" and len(path) == 2 and request.method == "GET":
            found = self._filtered(self.tracker.get(path[1], {}), request.param("filter"))
            return json_reply(200, {"page": 1, "pageSize": 50, "instances": found})
        if path == ["dataValueSets"] and request.method == "POST":
            count = len(request.json().get("dataValues", []))
            summary = {"responseType": "ImportSummary", "status": "SUCCESS", "conflicts": []}
            summary["importCount"] = {"imported": count, "updated": 0, "ignored": 0, "deleted": 0}
            return json_reply(200, {**self._web(200, "OK", "OK"), "response": summary})
        store = self.metadata.get(path[0])
        if store is None:
            return self._message(404, "Not Found", f"Resource not found: {path[0]}")
        return self._metadata(request, path, store)

    def _web(self, code: int, http: str, status: str) -> dict:
        return {"httpStatus": http, "httpStatusCode": code, "status": status}

    def _message(self, code: int, http: str, message: str) -> Reply:
        return json_reply(code, {**self._web(code, http, "ERROR"), "message": message})

    def _filtered(self, store: dict[str, dict], rule: str | None) -> list[dict]:
        items = list(store.values())
        if rule:
            field_name, _op, value = rule.split(":", 2)
            items = [item for item in items if str(item.get(field_name)) == value]
        return items

    def _metadata(self, request: Recorded, path: list[str], store: dict[str, dict]) -> Reply:
        if request.method == "GET" and len(path) == 1:
            found = self._filtered(store, request.param("filter"))
            return json_reply(200, {"pager": {"page": 1, "total": len(found)}, path[0]: found})
        if request.method == "POST" and len(path) == 1:
            body = request.json()
            if "name" not in body:
                report = {"message": "Missing required property `name`.", "errorCode": "E4000"}
                reply = {**self._web(409, "Conflict", "ERROR"), "message": "One or more errors"}
                reply["response"] = {"responseType": "ObjectReport", "errorReports": [report]}
                return json_reply(409, reply)
            uid = body.get("id") or self.uid()
            store[uid] = {**body, "id": uid}
            report = {"responseType": "ObjectReport", "uid": uid, "errorReports": []}
            return json_reply(201, {**self._web(201, "Created", "OK"), "response": report})
        if len(path) != 2 or path[1] not in store:
            return self._message(404, "Not Found", f"Object not found for uid: {path[-1]}")
        if request.method == "PUT":
            store[path[1]] = {**request.json(), "id": path[1]}
        elif request.method == "DELETE":
            del store[path[1]]
        elif request.method == "GET":
            return json_reply(200, store[path[1]])
        report = {"responseType": "ObjectReport", "uid": path[1], "errorReports": []}
        return json_reply(200, {**self._web(200, "OK", "OK"), "response": report})

    def _tracker_import(self, request: Recorded) -> Reply:
        if request.param("async") != "false":
            return json_reply(200, {**self._web(200, "OK", "OK"), "message": "Tracker job added"})
        strategy = request.param("importStrategy") or "CREATE_AND_UPDATE"
        stats = {"created": 0, "updated": 0, "deleted": 0, "ignored": 0, "total": 0}
        errors, type_reports = [], {}
        for resource, kind in self.TRACKER_KINDS.items():
            uid_field = resource[:-1] if resource != "trackedEntities" else "trackedEntity"
            objects = []
            for index, item in enumerate(request.json().get(resource, [])):
                uid = item.get(uid_field) or self.uid()
                if strategy != "DELETE" and not item.get("orgUnit"):
                    message = f"Could not find OrganisationUnit: ``, linked to {kind}."
                    errors.append({"message": message, "errorCode": "E1049", "uid": uid})
                    continue
                action = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted"}[strategy]
                if strategy == "DELETE":
                    self.tracker[resource].pop(uid, None)
                else:
                    self.tracker[resource][uid] = {**item, uid_field: uid}
                stats[action] += 1
                stats["total"] += 1
                objects.append({"trackerType": kind, "uid": uid, "index": index})
            if objects:
                type_reports[kind] = {"trackerType": kind, "objectReports": objects}
        status = "ERROR" if errors else "OK"
        report = {
            "status": status,
            "validationReport": {"errorReports": errors, "warningReports": []},
            "stats": stats,
            "bundleReport": {"status": status, "typeReportMap": type_reports},
        }
        return json_reply(409 if errors else 200, report)


class FakeCommCare(FakeServer):
    """CommCare HQ: the form receiver (OpenRosa replies) and the paged case API v0.5."""

    DOMAIN, USER, API_KEY, APP_ID = "demo-project", "ana@example.org", "cc-key-123", "app1"
    OPENROSA = '<OpenRosaResponse xmlns="http://openrosa.org/http/response">{}</OpenRosaResponse>'

    def __init__(self, cases: int = 7) -> None:
        super().__init__()
        self.cases = [
            {"case_id": f"case-{n}", "properties": {"case_type": "patient", "name": f"P{n}"}}
            for n in range(cases)
        ]
        self.forms: list[ET.Element] = []

    def handle(self, request: Recorded) -> Reply:
        """Route like CommCare HQ."""
        if request.headers.get("authorization") != f"ApiKey {self.USER}:{self.API_KEY}":
            return text_reply(401, "Authorization Required")
        prefix = f"/a/{self.DOMAIN}"
        if request.path == f"{prefix}/api/v0.5/case/" and request.method == "GET":
            return self._cases(request)
        if request.path == f"{prefix}/receiver/{self.APP_ID}/" and request.method == "POST":
            return self._receive(request)
        return text_reply(404, "Not found")

    def _cases(self, request: Recorded) -> Reply:
        limit, offset = int(request.param("limit") or 20), int(request.param("offset") or 0)
        page = self.cases[offset : offset + limit]
        more = offset + limit < len(self.cases)
        meta = {
            "limit": limit,
            "offset": offset,
            "total_count": len(self.cases),
            "next": f"?format=json&limit={limit}&offset={offset + limit}" if more else None,
            "previous": None,
        }
        return json_reply(200, {"meta": meta, "objects": page})

    def _receive(self, request: Recorded) -> Reply:
        def answer(status: int, nature: str, text: str) -> Reply:
            message = f'<message nature="{nature}">{text}</message>'
            return text_reply(status, self.OPENROSA.format(message), "text/xml")

        if not request.headers.get("content-type", "").startswith("text/xml"):
            return answer(415, "processing_failure", "Expected text/xml")
        try:
            root = ET.fromstring(request.body)  # noqa: S314 - test input
        except ET.ParseError as exc:
            return answer(422, "processing_failure", f"Invalid XML: {exc}")
        if not root.tag.startswith("{"):
            return answer(422, "processing_failure", "Form has no xmlns")
        self.forms.append(root)
        return answer(201, "submit_success", "   √   ")


class FakeFhir(FakeServer):
    """A FHIR R4 server under /fhir: create, read, update, paged search, transactions."""

    TOKEN = "fhir-token-abc"

    def __init__(self, page_size: int = 2) -> None:
        super().__init__()
        self.store: dict[str, dict[str, dict]] = {}
        self.page_size = page_size
        self._results: list[dict] = []
        self.next_origin = ""  # set to send `next` links to another origin

    @property
    def base(self) -> str:
        """The FHIR base URL."""
        return f"{self.origin}/fhir"

    def handle(self, request: Recorded) -> Reply:
        """Route like HAPI FHIR."""
        if request.headers.get("authorization") != f"Bearer {self.TOKEN}":
            return self._outcome(401, "security", "HAPI-0644: Missing or invalid bearer token")
        parts = request.path.removeprefix("/fhir").strip("/").split("/")
        parts = [part for part in parts if part]
        if not parts and request.method == "POST":
            return self._transaction(request.json())
        if not parts and request.param("_getpages"):
            return self._page(request.param("_getpages") or "", int(request.param("o") or 0))
        if len(parts) == 1 and request.method == "POST":
            return self._create(parts[0], request.json())
        if len(parts) == 1 and request.method == "GET":
            return self._search(parts[0], request)
        if len(parts) == 2:
            found = self.store.get(parts[0], {}).get(parts[1])
            if request.method == "PUT":
                resource = {**request.json(), "meta": {"versionId": "2"}}
                self.store.setdefault(parts[0], {})[parts[1]] = resource
                return json_reply(200, resource, "application/fhir+json")
            if found is None:
                message = f"HAPI-2001: Resource {parts[0]}/{parts[1]} is not known"
                return self._outcome(404, "processing", message)
            return json_reply(200, found, "application/fhir+json")
        return self._outcome(400, "not-supported", "Unsupported request")

    def _outcome(self, status: int, code: str, text: str) -> Reply:
        issue = {"severity": "error", "code": code, "diagnostics": text}
        body = {"resourceType": "OperationOutcome", "issue": [issue]}
        return json_reply(status, body, "application/fhir+json")

    def _create(self, kind: str, resource: dict) -> Reply:
        if resource.get("resourceType") != kind:
            text = f"HAPI-0450: Incorrect resource type ({resource.get('resourceType')})"
            return self._outcome(400, "processing", text)
        store = self.store.setdefault(kind, {})
        ident = str(len(store) + 1)
        store[ident] = {**resource, "id": ident, "meta": {"versionId": "1"}}
        reply = json_reply(201, store[ident], "application/fhir+json")
        reply.headers["Location"] = f"{self.base}/{kind}/{ident}/_history/1"
        return reply

    def _search(self, kind: str, request: Recorded) -> Reply:
        matches = [
            r
            for r in self.store.get(kind, {}).values()
            if all(str(r.get(k)) == v[0] for k, v in request.query.items() if k[0] != "_")
        ]
        self._results = matches  # one search at a time is all the tests need
        return self._page(kind, 0)

    def _page(self, kind: str, offset: int) -> Reply:
        entries = [
            {"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in self._results[offset : offset + self.page_size]
        ]
        links = [{"relation": "self", "url": f"{self.base}/{kind}"}]
        if offset + self.page_size < len(self._results):
            origin = self.next_origin or self.origin
            following = f"{origin}/fhir?_getpages={kind}&o={offset + self.page_size}"
            links.append({"relation": "next", "url": following})
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(self._results)}
        return json_reply(200, {**bundle, "link": links, "entry": entries}, "application/fhir+json")

    def _transaction(self, bundle: dict) -> Reply:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            return self._outcome(400, "invalid", "HAPI-0339: Unable to process transaction")
        results = []
        for entry in bundle.get("entry", []):
            method, url = entry["request"]["method"], entry["request"]["url"]
            kind = url.split("/")[0]
            store = self.store.setdefault(kind, {})
            ident = url.split("/")[1] if method == "PUT" else str(len(store) + 1)
            store[ident] = {**entry["resource"], "id": ident}
            status = "200 OK" if method == "PUT" else "201 Created"
            results.append({"response": {"status": status, "location": f"{kind}/{ident}"}})
        body = {"resourceType": "Bundle", "type": "transaction-response", "entry": results}
        return json_reply(200, body, "application/fhir+json")
