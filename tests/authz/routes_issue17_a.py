"""Matrix entries for issue 17's automatic retries: editors may make a waiting run's next
attempt due now or give its retries up. The world's run is not waiting, so an allowed call
is answered 409 with a sentence (no change), which the matrix counts as allowed."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "history.retry_now": Rule("editor"),
    "history.give_up": Rule("editor"),
    "api.retry_now": Rule("editor", api=True),
    "api.give_up": Rule("editor", api=True),
}
