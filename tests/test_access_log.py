"""`ferry web`'s access log leaves out accepted webhooks (recorded as work orders anyway) and
keeps every other request, refused webhooks included; `--access-log-webhooks` puts them back.
Driven through gunicorn's own Logger with its configuration, not a copy of it."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from app.access_log import AccessLogger


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(monkeypatch, webhooks: str | None) -> tuple[AccessLogger, Lines]:
    if webhooks is None:
        monkeypatch.delenv("FERRY_ACCESS_LOG_WEBHOOKS", raising=False)
    else:
        monkeypatch.setenv("FERRY_ACCESS_LOG_WEBHOOKS", webhooks)
    config = Config()
    config.set("accesslog", "-")
    logger = AccessLogger(config)
    captured = Lines()
    logger.access_log.handlers = [captured]
    return logger, captured


def _request(logger: AccessLogger, method: str, path: str, status: int) -> None:
    response = SimpleNamespace(
        status=f"{status} X", status_code=status, sent=10, headers=[], response_length=10
    )
    request = SimpleNamespace(method=method, path=path, query="", version=(1, 1), headers=[])
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "RAW_URI": path,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    logger.access(response, request, environ, SimpleNamespace(seconds=0, microseconds=900))


@pytest.mark.parametrize("webhooks", [None, "0", "yes"])
def test_accepted_webhooks_are_left_out_and_everything_else_is_logged(monkeypatch, webhooks):
    logger, captured = _logger(monkeypatch, webhooks)
    _request(logger, "POST", "/i/abc", 200)
    _request(logger, "POST", "/i/abc", 404)
    _request(logger, "POST", "/i/abc", 503)
    _request(logger, "GET", "/projects", 200)
    _request(logger, "POST", "/api/v1/projects", 201)
    assert len(captured.lines) == 4
    assert not any('"POST /i/abc HTTP/1.1" 200' in line for line in captured.lines)
    assert any('"POST /i/abc HTTP/1.1" 404' in line for line in captured.lines)


def test_access_log_webhooks_logs_accepted_ones_too(monkeypatch):
    logger, captured = _logger(monkeypatch, "1")
    _request(logger, "POST", "/i/abc", 200)
    assert len(captured.lines) == 1 and '"POST /i/abc HTTP/1.1" 200' in captured.lines[0]


def test_ferry_web_uses_the_logger_and_passes_the_flag(monkeypatch):
    from click.testing import CliRunner

    from workers import cli

    started = {}
    monkeypatch.setattr(cli, "require_database", lambda url: None)
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: started.update(argv=argv))
    monkeypatch.delenv("FERRY_ACCESS_LOG_WEBHOOKS", raising=False)
    result = CliRunner().invoke(cli.main, ["web", "--access-log-webhooks"])
    assert result.exit_code == 0, result.output
    argv = started["argv"]
    assert argv[argv.index("--logger-class") + 1] == "app.access_log.AccessLogger"
    assert "--access-logfile" in argv
    assert cli.os.environ["FERRY_ACCESS_LOG_WEBHOOKS"] == "1"
    monkeypatch.delenv("FERRY_ACCESS_LOG_WEBHOOKS")


@pytest.mark.parametrize(
    ("options", "worker_class", "threads"),
    [([], "gthread", "40"), (["--webhooks-only"], "sync", None)],
)
def test_ferry_web_worker_class(monkeypatch, options, worker_class, threads):
    from click.testing import CliRunner

    from workers import cli

    started = {}
    monkeypatch.setattr(cli, "require_database", lambda url: None)
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: started.update(argv=argv))
    result = CliRunner().invoke(cli.main, ["web", *options])
    assert result.exit_code == 0, result.output
    argv = started["argv"]
    assert argv[argv.index("--worker-class") + 1] == worker_class
    assert (argv[argv.index("--threads") + 1] if "--threads" in argv else None) == threads
