"""Where the code commands find the server and the token: `--endpoint`/`--token`, else
FERRY_ENDPOINT / FERRY_API_TOKEN, else a TOML config file (`$FERRY_CONFIG`, or
`~/.config/ferry/config.toml`) with `endpoint` and `token`. Each value remembers where it came
from, so a refused token can be traced to the place that gave it."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workers.project_code.failure import LOCAL, Failure


@dataclass(frozen=True)
class Connection:
    """The server to talk to and the token to send, each with where it came from."""

    endpoint: str
    token: str
    endpoint_source: str
    token_source: str


def config_path(env: Mapping[str, str]) -> Path:
    """$FERRY_CONFIG, else ferry/config.toml under $XDG_CONFIG_HOME or ~/.config."""
    if env.get("FERRY_CONFIG"):
        return Path(env["FERRY_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "ferry" / "config.toml"


def read_config(env: Mapping[str, str]) -> tuple[dict, Path]:
    """The config file's values ({} when the default file does not exist). A file named by
    $FERRY_CONFIG must exist: a typo there would otherwise silently use other settings."""
    path = config_path(env)
    if not path.exists():
        if env.get("FERRY_CONFIG"):
            raise Failure(f"FERRY_CONFIG names {path}, which does not exist.")
        return {}, path
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise Failure(f"{path} is not valid TOML: {error}.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(f"{path} cannot be read: {error}.") from None
    for key in ("endpoint", "token"):
        if key in values and not isinstance(values[key], str):
            raise Failure(f'{path}: `{key}` must be text in quotes, like {key} = "...".')
    return values, path


def resolve(
    endpoint: str | None,
    token: str | None,
    env: Mapping[str, str] | None = None,
    *,
    pulled_from: str | None = None,
) -> Connection:
    """The connection from options, environment and config file, in that order. `pulled_from`
    (the endpoint a directory was pulled from) is the last resort for the endpoint."""
    env = os.environ if env is None else env
    config, path = read_config(env)
    found_endpoint = _first(
        (endpoint, "--endpoint"),
        (env.get("FERRY_ENDPOINT"), "FERRY_ENDPOINT"),
        (config.get("endpoint"), str(path)),
        (pulled_from, ".ferry/state.json"),
    )
    found_token = _first(
        (token, "--token"),
        (env.get("FERRY_API_TOKEN"), "FERRY_API_TOKEN"),
        (config.get("token"), str(path)),
    )
    if found_endpoint is None:
        raise Failure(
            "No Ferry server given. Pass --endpoint https://ferry.example.org, set "
            f'FERRY_ENDPOINT, or write endpoint = "..." in {path}.',
            LOCAL,
        )
    if found_token is None:
        raise Failure(
            "No API token given. Create one on your profile page (or with `ferry create-token "
            f'EMAIL`), then pass --token, set FERRY_API_TOKEN, or write token = "..." in {path}.',
            LOCAL,
        )
    url, url_source = found_endpoint
    if not url.startswith(("http://", "https://")):
        raise Failure(
            f"The endpoint {url!r} (from {url_source}) must start with http:// or https://."
        )
    return Connection(url.rstrip("/"), found_token[0], url_source, found_token[1])


def _first(*candidates: tuple[str | None, str]) -> tuple[str, str] | None:
    for value, source in candidates:
        if value is not None and value.strip():
            return value.strip(), source
    return None
