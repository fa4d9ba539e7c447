"""A run's large states on their way through the worker, kept as JSON text.

The claim reads a large input as text (`app.json_text`), the sandbox takes it and gives a
large output back as text, and the write stores it with a cast to jsonb: the worker never
holds the objects (four times the text's size). Two rare cases parse it: a failed step,
whose error goes into its output state, and a credential value of the run found in it,
which is masked like any other."""

from __future__ import annotations

from app.json_text import JsonText
from app.scrub import Scrubber


def with_configuration(state: dict | JsonText, configuration: object | None) -> dict | JsonText:
    """The state a step is sent: `state` plus its credential, if it has one. A shallow copy
    is enough for a dict: the state only travels to the sandbox as JSON, and the
    configuration must not end up in the pending state, which other branches share."""
    if isinstance(state, JsonText):
        return state if configuration is None else state.with_key("configuration", configuration)
    return {**state, "configuration": configuration} if configuration is not None else dict(state)


def objects_needed(state: dict | JsonText, succeeded: bool, masker: Scrubber) -> dict:
    """`state` as objects when a rare case needs them, else `state` as it is."""
    if not isinstance(state, JsonText):
        return state
    if not succeeded or any(state.contains(secret.encode()) for secret in masker.secrets):
        return state.parsed()
    return state
