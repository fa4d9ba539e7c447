"""The commcare adaptor against a local stand-in for CommCare HQ."""

from __future__ import annotations

import pytest

from tests.workers.adaptors.servers import FakeCommCare
from workers.adaptors import commcare
from workers.runtime.errors import JobError
from workers.runtime.lazy import S
from workers.runtime.logs import LogLine, capture

FORM_XMLNS = "http://openrosa.org/formdesigner/F1A2B3"


@pytest.fixture
def server():
    """The stand-in CommCare HQ with 7 cases."""
    with FakeCommCare() as running:
        yield running


@pytest.fixture
def state(server):
    """A state with a CommCare credential for the stand-in."""
    config = {
        "base_url": server.origin,
        "domain": FakeCommCare.DOMAIN,
        "username": FakeCommCare.USER,
        "api_key": FakeCommCare.API_KEY,
        "app_id": FakeCommCare.APP_ID,
    }
    return {"configuration": config, "data": {"name": "Ana <Bo> & Co", "age": 31}}


def test_fetch_cases_follows_every_page(server, state):
    lines: list[LogLine] = []
    with capture(lines.append):
        result = commcare.fetch_cases({"type": "patient"}, limit=3)(state)

    assert [case["case_id"] for case in result["data"]] == [f"case-{n}" for n in range(7)]
    assert [r.param("offset") for r in server.requests] == ["0", "3", "6"]
    first = server.requests[0]
    assert first.path == f"/a/{FakeCommCare.DOMAIN}/api/v0.5/case/"
    assert (first.param("format"), first.param("limit"), first.param("type")) == (
        "json",
        "3",
        "patient",
    )
    assert first.headers["authorization"] == f"ApiKey {FakeCommCare.USER}:{FakeCommCare.API_KEY}"
    assert result["response"]["status"] == 200
    pages = [line.message for line in lines if line.message.startswith("cases page")]
    assert pages == [
        "cases page 1: 3 (3 of 7)",
        "cases page 2: 3 (6 of 7)",
        "cases page 3: 1 (7 of 7)",
    ]


def test_fetch_cases_with_a_lazy_query_and_one_page(server, state):
    result = commcare.fetch_cases(lambda s: {"owner_id": s["data"]["age"]})(state)
    assert len(result["data"]) == 7
    assert len(server.requests) == 1
    assert server.last.param("owner_id") == "31"
    assert server.last.param("limit") == "100"


def test_fetch_cases_rejects_a_bad_limit_and_a_wrong_key(server, state):
    with pytest.raises(JobError, match="limit"):
        commcare.fetch_cases(limit=0)(state)
    wrong = {**state, "configuration": {**state["configuration"], "api_key": "nope"}}
    with pytest.raises(JobError, match="401"):
        commcare.fetch_cases()(wrong)


def test_submit_xml_string(server, state):
    xml = f'<data xmlns="{FORM_XMLNS}"><name>Ana</name></data>'
    result = commcare.submit(xml)(state)
    request = server.last
    assert (request.method, request.path) == (
        "POST",
        f"/a/{FakeCommCare.DOMAIN}/receiver/{FakeCommCare.APP_ID}/",
    )
    assert request.headers["content-type"].startswith("text/xml")
    assert request.body.decode() == xml
    assert result["data"] == {"nature": "submit_success", "message": "√"}
    assert result["response"]["status"] == 201


def test_submit_dict_becomes_xform_xml(server, state):
    form = {
        "@": {"xmlns": FORM_XMLNS, "name": "Registration"},
        "name": S.data.name,
        "age": S.data.age,
        "consent": True,
        "note": None,
        "child": [{"name": "C1"}, {"name": "C2"}],
        "case": {"@": {"case_id": "abc"}, "update": {"status": "active"}},
    }
    commcare.submit(form)(state)
    (root,) = server.forms
    ns = f"{{{FORM_XMLNS}}}"
    assert root.tag == f"{ns}data"
    assert root.get("name") == "Registration"
    assert root.findtext(f"{ns}name") == "Ana <Bo> & Co"
    assert root.findtext(f"{ns}age") == "31"
    assert root.findtext(f"{ns}consent") == "true"
    assert root.findtext(f"{ns}note") == ""
    assert [c.findtext(f"{ns}name") for c in root.findall(f"{ns}child")] == ["C1", "C2"]
    assert root.find(f"{ns}case").get("case_id") == "abc"
    assert root.findtext(f"{ns}case/{ns}update/{ns}status") == "active"
    instance = root.findtext(
        "{http://openrosa.org/jr/xforms}meta/{http://openrosa.org/jr/xforms}instanceID"
    )
    assert instance.startswith("uuid:")


def test_submit_refuses_forms_without_xmlns_or_with_bad_names(server, state):
    with pytest.raises(JobError, match="needs its xmlns"):
        commcare.submit({"name": "Ana"})(state)
    with pytest.raises(JobError, match="cannot be an XML element"):
        commcare.submit({"@": {"xmlns": FORM_XMLNS}, "bad name": 1})(state)
    with pytest.raises(JobError, match="XForm XML"):
        commcare.submit("not xml")(state)
    assert server.requests == []


def test_submit_failure_carries_commcare_message(server, state):
    with pytest.raises(JobError, match="422 Unprocessable Entity: Form has no xmlns"):
        commcare.submit("<data><name>Ana</name></data>")(state)


def test_credential_fields_are_required():
    with pytest.raises(JobError, match="needs 'domain'"):
        commcare.fetch_cases()({"configuration": {"username": "a", "api_key": "b"}})
