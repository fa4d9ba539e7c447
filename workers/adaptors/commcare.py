"""The commcare adaptor: submit XForms and fetch cases from CommCare HQ.

Authentication is CommCare's API key header, `Authorization: ApiKey <username>:<api_key>`.
`submit` posts an XForm to the project's receiver; a dict is turned into XForm XML first
(see `to_xform`). `fetch_cases` reads the case API v0.5 page by page, following
`meta.next`, and writes every case to `data` as one list.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx

from workers.adaptors.http_client import configuration, send, target_url, with_reply
from workers.runtime.errors import JobError
from workers.runtime.lazy import operation, resolve
from workers.runtime.logs import emit

Operation = Callable[[dict], dict]
DEFAULT_BASE_URL = "https://www.commcarehq.org"
JR_XMLNS = "http://openrosa.org/jr/xforms"
OPENROSA_XMLNS = "http://openrosa.org/http/response"
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*(:[A-Za-z_][A-Za-z0-9_.\-]*)?$")


def _settings(state: dict) -> tuple[dict, dict[str, str]]:
    config = dict(configuration(state))
    config["base_url"] = config.get("base_url") or DEFAULT_BASE_URL
    for field in ("domain", "username", "api_key"):
        if not config.get(field):
            raise JobError(
                f"the CommCare credential needs {field!r}",
                code="credential_missing_field",
                details={"field": field, "credential": "CommCare"},
            )
    auth = {"Authorization": f"ApiKey {config['username']}:{config['api_key']}"}
    return config, auth


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if not isinstance(value, dict):
        element.text = _text(value)
        return
    for key, child in value.items():
        if key == "@":
            if not isinstance(child, dict):
                raise JobError("'@' holds an element's attributes as a dict", code="bad_argument")
            for name, attr in child.items():
                element.set(_name(name), _text(attr))
        elif key == "#":
            element.text = _text(child)
        else:
            for item in child if isinstance(child, list) else [child]:
                _fill(ET.SubElement(element, _name(key)), item)


def _name(key: Any) -> str:
    if not isinstance(key, str) or not _XML_NAME.match(key):
        raise JobError(f"{key!r} cannot be an XML element or attribute name", code="bad_argument")
    return key


def to_xform(form: dict) -> str:
    """XForm XML for a dict: keys become elements under `<data>`.

    `"@"` holds attributes (the form's `xmlns` is required there), `"#"` an element's text,
    lists repeat an element, None is an empty element and booleans become true/false. When
    the dict has no `meta`, one is added with a fresh `instanceID`, which CommCare uses to
    recognise the submission.
    """
    attributes = form.get("@")
    if not isinstance(attributes, dict) or not attributes.get("xmlns"):
        raise JobError(
            "a form given as a dict needs its xmlns: "
            "{'@': {'xmlns': 'http://openrosa.org/formdesigner/...'}, ...}"
        )
    root = ET.Element("data")
    _fill(root, form)
    if "meta" not in form:
        meta = ET.SubElement(root, "meta", {"xmlns": JR_XMLNS})
        ET.SubElement(meta, "instanceID").text = f"uuid:{uuid.uuid4()}"
    return ET.tostring(root, encoding="unicode", xml_declaration=False)


def _openrosa(text: str) -> dict | str:
    """{"nature", "message"} from an OpenRosa response, or the raw text if it is not one."""
    try:
        # CommCare's own reply; expat (2.4.1+) caps entity expansion and ElementTree never
        # fetches external entities.
        root = ET.fromstring(text)  # noqa: S314  # nosec B314
    except ET.ParseError:
        return text
    message = root.find(f"{{{OPENROSA_XMLNS}}}message")
    if message is None:
        message = root.find("message")
    if message is None:
        return text
    return {"nature": message.get("nature"), "message": (message.text or "").strip()}


def submit(form: Any) -> Operation:
    """Submit a form (XForm XML as a string, or a dict converted by `to_xform`)."""

    @operation
    def run(state: dict) -> dict:
        config, auth = _settings(state)
        value = resolve(form, state)
        if isinstance(value, dict):
            xml = to_xform(value)
        elif isinstance(value, str) and value.lstrip().startswith("<"):
            xml = value
        else:
            raise JobError(
                "submit needs the form as XForm XML (a string) or a dict", code="bad_argument"
            )
        app = config.get("app_id")
        path = f"/a/{config['domain']}/receiver/" + (f"{app}/" if app else "")
        reply = send(
            "POST",
            target_url(path, config),
            auth=auth,
            content=xml,
            content_type="text/xml; charset=utf-8",
            parse_as="text",
            error_detail=_detail,
        )
        next_state = with_reply(state, reply)
        next_state["data"] = _openrosa(reply.data)
        return next_state

    return run


def _detail(body: Any) -> str | None:
    parsed = _openrosa(body) if isinstance(body, str) else None
    return parsed.get("message") if isinstance(parsed, dict) else None


def fetch_cases(query: Any = None, limit: Any = 100) -> Operation:
    """Fetch every case matching `query` (case API filters), following all pages."""

    @operation
    def run(state: dict) -> dict:
        config, auth = _settings(state)
        where, size = resolve(query, state) or {}, resolve(limit, state)
        if not isinstance(where, dict):
            raise JobError(
                "fetch_cases(query) must be an object such as {'type': 'patient'}",
                code="bad_argument",
            )
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 5000:
            raise JobError(
                "fetch_cases(limit) must be a whole number from 1 to 5000", code="bad_argument"
            )
        url = target_url(f"/a/{config['domain']}/api/v0.5/case/", config)
        params: dict | None = {**where, "format": "json", "limit": size, "offset": 0}
        cases: list = []
        seen: set[str] = set()
        pages = 0
        while True:
            reply = send("GET", url, auth=auth, query=params, parse_as="json")
            pages += 1
            page = reply.data if isinstance(reply.data, dict) else {}
            objects = page.get("objects") or []
            cases.extend(objects)
            meta = page.get("meta") or {}
            total = meta.get("total_count", "?")
            emit("info", "adaptor", f"cases page {pages}: {len(objects)} ({len(cases)} of {total})")
            following = meta.get("next")
            if not following or not objects:
                break
            # `next` is relative ("?limit=..&offset=..") on CommCare; resolve it, and let
            # target_url refuse it if it ever pointed at another origin.
            url = target_url(str(httpx.URL(str(reply.response["url"])).join(following)), config)
            params = None
            if url in seen:
                raise JobError(
                    f"CommCare returned the same next page twice: {following}", code="bad_argument"
                )
            seen.add(url)
        return {**state, "data": cases, "response": reply.response}

    return run


OPERATIONS: dict[str, Callable[..., Operation]] = {
    "submit": submit,
    "fetch_cases": fetch_cases,
    "fetchCases": fetch_cases,
}
