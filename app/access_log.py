"""gunicorn's access log without a line for each accepted webhook (`ferry web` uses it).

Formatting and writing a line cost about a third of an accepted webhook's CPU in the web
process, and an accepted webhook is recorded anyway: its work order keeps the time, the
trigger, the headers and the body. Every other request is logged as gunicorn logs it,
webhook refusals (4xx, 5xx) included, so a sender's mistakes still show. Set
FERRY_ACCESS_LOG_WEBHOOKS=1 (`ferry web --access-log-webhooks`) to log accepted ones too.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

WEBHOOK_PREFIX = "/i/"


class AccessLogger(Logger):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.log_accepted_webhooks = os.environ.get("FERRY_ACCESS_LOG_WEBHOOKS", "") == "1"

    def access(self, resp, req, environ, request_time) -> None:
        if (
            not self.log_accepted_webhooks
            and resp.status_code is not None
            and resp.status_code < 300
            and environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX)
        ):
            return
        super().access(resp, req, environ, request_time)
