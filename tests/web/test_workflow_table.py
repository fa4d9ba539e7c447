"""The workflow table (macros/workflows.html), shared by the project overview and the
workflows page: the same columns first, the workflows page's figures and actions after."""

from __future__ import annotations

import re

from tests import factories

SHARED = ["Name", "Trigger", "Enabled", "Last run"]


def headers(html: str) -> list[str]:
    thead = html[html.index("<thead") : html.index("</thead>")]
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", thead)
    ]


def test_both_pages_render_the_same_table_with_their_own_columns(signed_in, user, db):
    project = factories.project(user, "Health data")
    factories.workflow(project, name="Patient sync")
    overview = signed_in.get(f"/projects/{project.id}").get_data(as_text=True)
    listing = signed_in.get(f"/projects/{project.id}/workflows").get_data(as_text=True)
    assert headers(overview) == SHARED
    assert headers(listing) == [*SHARED, "Runs (7 days)", "Failures (7 days)", "Actions"]
    assert 'id="overview-workflows"' in overview and 'id="overview-workflows"' not in listing
    assert '<tbody aria-live="polite">' in listing and "<tbody>" in overview
    for html in (overview, listing):
        assert 'class="table table-hover align-middle mb-0"' in html
        assert "Patient sync" in html and "No workflows yet" not in html
