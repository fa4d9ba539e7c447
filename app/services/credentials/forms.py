"""Credential forms generated from the adaptor specs' JSON Schemas, and what they submit.

`fields_for(schema_name)` turns a credential schema into one `SchemaField` per property;
`parse_submission` turns the posted strings back into a typed body, keeps stored secrets the
user left blank, and validates the result against the JSON Schema (draft 2020-12). Every
problem is reported on its field at once, so the form can show them all.

Long because a form and its submission are one round trip through the same `SchemaField`s:
the kinds a field is drawn as are the kinds its posted string is converted back from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from app.services import adaptor_catalog
from app.services.credentials.labels import humanise
from app.services.errors import Invalid, NotFound
from app.services.parsing import load_json

RAW = "raw"
OAUTH = "oauth"
RAW_FIELD = "body"
INPUT_PREFIX = "body."
CLEAR_PREFIX = "clear."

# The JSON Schema of the raw type: any object. Its whole body is treated as secret, because
# nothing says which of its values are.
RAW_SCHEMA = {
    "type": "object",
    "title": "Raw JSON credential",
    "description": "Any JSON object, for adaptors or jobs that need a shape no form offers.",
    "properties": {},
}


class BodyInvalid(Invalid):
    """Several fields of a credential body are wrong; `errors` maps field name to message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors))
        super().__init__(first, errors[first])
        self.errors = errors


@dataclass(frozen=True)
class SchemaField:
    """One input of a credential form."""

    name: str
    label: str
    kind: str  # text, url, secret, integer, number, boolean, choice, json
    required: bool
    help: str = ""
    examples: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    enum_values: tuple = ()
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False

    @property
    def input_name(self) -> str:
        """The name of the HTML input (prefixed, so a property called `name` cannot clash)."""
        return INPUT_PREFIX + self.name

    @property
    def input_id(self) -> str:
        """The id of the HTML input."""
        return "field-" + self.name

    @property
    def placeholder(self) -> str:
        """Nothing: an example greyed inside an empty input reads like a value already typed,
        so examples go in the help text below the input instead ("e.g. …")."""
        return ""


@dataclass(frozen=True)
class CredentialType:
    """A kind of credential a user can create: an adaptor's schema or raw JSON."""

    name: str
    label: str
    description: str
    fields: tuple[SchemaField, ...] = field(default_factory=tuple)


def schema_for(schema_name: str) -> dict:
    """The JSON Schema of a credential type, or NotFound."""
    if schema_name == RAW:
        return RAW_SCHEMA
    spec = adaptor_catalog.spec(schema_name)
    if spec is None or schema_name == OAUTH or not spec.get("credential_schema"):
        raise NotFound(f"There is no credential type {schema_name!r}.")
    return spec["credential_schema"]


def credential_type(schema_name: str) -> CredentialType:
    """The type with its form fields."""
    if schema_name == RAW:
        return CredentialType(RAW, "Raw JSON", RAW_SCHEMA["description"], (_raw_field(),))
    schema = schema_for(schema_name)
    spec = adaptor_catalog.spec(schema_name) or {}
    return CredentialType(
        schema_name,
        spec.get("label", schema_name),
        schema.get("description", ""),
        tuple(_fields(schema)),
    )


def credential_types() -> list[CredentialType]:
    """Every adaptor that takes a credential (has properties), then raw JSON."""
    types = [
        credential_type(name)
        for name in adaptor_catalog.adaptor_names()
        if ((adaptor_catalog.spec(name) or {}).get("credential_schema") or {}).get("properties")
    ]
    return [*types, credential_type(RAW)]


def type_label(schema_name: str) -> str:
    """A short human name for a credential type ("DHIS2", "Raw JSON", "OAuth")."""
    if schema_name == RAW:
        return "Raw JSON"
    if schema_name == OAUTH:
        return "OAuth"
    spec = adaptor_catalog.spec(schema_name)
    return spec["label"] if spec else schema_name


def secret_names(schema_name: str) -> set[str]:
    """The body keys that are secret (for raw: every key)."""
    if schema_name == OAUTH:
        return {"access_token", "refresh_token", "id_token"}
    if schema_name == RAW:
        return {"*"}
    return {f.name for f in credential_type(schema_name).fields if f.secret}


def visible_values(schema_name: str, body: dict) -> dict[str, object]:
    """The non-secret values of a body, the only ones ever shown back to anyone."""
    hidden = secret_names(schema_name)
    if "*" in hidden:
        return {}
    return {key: value for key, value in body.items() if key not in hidden}


def initial_values(schema_name: str) -> dict[str, object]:
    """The schema's defaults, to prefill a new form."""
    return {
        f.name: f.default
        for f in credential_type(schema_name).fields
        if f.default is not None and not f.secret
    }


def echo_values(schema_name: str, submitted: Mapping[str, Sequence[str]]) -> dict[str, object]:
    """What the user typed, to show again beside the errors; secrets are never echoed."""
    values: dict[str, object] = {}
    for spec_field in credential_type(schema_name).fields:
        posted = submitted.get(spec_field.input_name)
        if spec_field.secret or not posted:
            continue
        raw = posted[-1]
        values[spec_field.name] = raw == "true" if spec_field.kind == "boolean" else raw
    return values


def _raw_field() -> SchemaField:
    return SchemaField(
        name=RAW_FIELD,
        label="Body (JSON object)",
        kind="json",
        required=True,
        help='The whole credential as a JSON object, e.g. {"token": "…"}. '
        "It is stored encrypted and never shown again.",
        secret=True,
    )


def _fields(schema: dict) -> list[SchemaField]:
    required = set(schema.get("required", []))
    return [
        _field(name, prop, name in required)
        for name, prop in (schema.get("properties") or {}).items()
    ]


def _field(name: str, prop: dict, required: bool) -> SchemaField:
    examples = tuple(
        json.dumps(e) if not isinstance(e, str) else e for e in prop.get("examples", [])
    )
    help_text = prop.get("description", "")
    # A tick box needs no example ("Example: true" reads as a bug); secrets show none.
    if examples and not prop.get("secret") and prop.get("type") != "boolean":
        help_text = f"{help_text} e.g. {examples[0]}".strip()
    return SchemaField(
        name=name,
        label=prop.get("title") or humanise(name),
        kind=_kind(prop),
        required=required,
        help=help_text,
        examples=examples,
        choices=tuple(str(choice) for choice in prop.get("enum", [])),
        enum_values=tuple(prop.get("enum", [])),
        default=prop.get("default"),
        minimum=prop.get("minimum"),
        maximum=prop.get("maximum"),
        secret=bool(prop.get("secret")),
    )


def _kind(prop: dict) -> str:
    if prop.get("secret"):
        return "secret"
    if "enum" in prop:
        return "choice"
    kind = prop.get("type", "string")
    if kind in {"integer", "number", "boolean"}:
        return kind
    if kind in {"object", "array"}:
        return "json"
    return "url" if prop.get("format") == "uri" else "text"


def parse_submission(
    schema_name: str, submitted: Mapping[str, Sequence[str]], stored: dict | None = None
) -> dict:
    """The typed body a form submitted, or BodyInvalid naming every wrong field.

    `submitted` maps input names to their posted values (a checkbox posts a hidden "false"
    first, then "true" when ticked). Secrets left blank keep their `stored` value, unless
    the user ticked "remove".
    """
    ctype = credential_type(schema_name)
    stored = stored or {}
    if schema_name == RAW:
        return _parse_raw(submitted, stored)
    body: dict[str, object] = {}
    errors: dict[str, str] = {}
    for spec_field in ctype.fields:
        values = submitted.get(spec_field.input_name) or [""]
        raw = values[-1].strip() if spec_field.kind != "secret" else values[-1]
        if spec_field.secret and raw == "":
            if spec_field.name in stored and not _ticked(submitted, spec_field.name):
                body[spec_field.name] = stored[spec_field.name]
            continue
        try:
            value = _convert(spec_field, raw)
        except ValueError as error:
            errors[spec_field.name] = str(error)
            continue
        if value is not None:
            body[spec_field.name] = value
    for spec_field in ctype.fields:
        if spec_field.required and spec_field.name not in body and spec_field.name not in errors:
            errors[spec_field.name] = f"{spec_field.label} is required."
    for error in Draft202012Validator(schema_for(schema_name)).iter_errors(body):
        if error.absolute_path and str(error.absolute_path[0]) not in errors:
            errors[str(error.absolute_path[0])] = _message(error)
    if errors:
        raise BodyInvalid(errors)
    return body


def _ticked(submitted: Mapping[str, Sequence[str]], name: str) -> bool:
    return bool(submitted.get(CLEAR_PREFIX + name))


def _parse_raw(submitted: Mapping[str, Sequence[str]], stored: dict) -> dict:
    text = (submitted.get(INPUT_PREFIX + RAW_FIELD) or [""])[-1].strip()
    if not text:
        if stored:
            return stored  # left blank while editing: keep the stored body
        raise BodyInvalid({RAW_FIELD: "Enter the credential as a JSON object."})
    try:
        # parsing refuses what PostgreSQL cannot keep (deep nesting, NaN, NUL), not only typos.
        value = load_json(text, field=RAW_FIELD, what="This")
    except Invalid as error:
        raise BodyInvalid({RAW_FIELD: error.message}) from None
    if not isinstance(value, dict):
        raise BodyInvalid({RAW_FIELD: 'Enter a JSON object, in braces: {"key": "value"}.'})
    return value


def _convert(spec_field: SchemaField, raw: str) -> object:
    """A posted string as the field's JSON type; None when left empty."""
    if spec_field.kind == "boolean":
        return raw == "true" if raw else None
    if raw == "":
        return None
    if spec_field.kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError("Enter a whole number, e.g. 5432.") from None
    if spec_field.kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError("Enter a number.") from None
    if spec_field.kind == "choice":
        for value in spec_field.enum_values:
            if str(value) == raw:
                return value
        raise ValueError("Choose one of: " + ", ".join(spec_field.choices) + ".")
    if spec_field.kind == "json":
        try:
            return load_json(raw, field=spec_field.name, what="This")
        except Invalid as error:
            raise ValueError(error.message) from None
    if spec_field.kind == "url":
        parts = urlsplit(raw)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("Enter a full web address starting with https:// or http://.")
    return raw


def _message(error) -> str:
    """A JSON Schema error in words a person can act on."""
    messages = {
        "minimum": lambda: f"Must be at least {error.validator_value}.",
        "maximum": lambda: f"Must be at most {error.validator_value}.",
        "enum": lambda: "Choose one of: " + ", ".join(map(str, error.validator_value)) + ".",
        "type": lambda: f"Must be of type {error.validator_value}.",
        "minLength": lambda: f"Must be at least {error.validator_value} characters long.",
        "maxLength": lambda: f"Must be at most {error.validator_value} characters long.",
        "pattern": lambda: "Does not have the expected form.",
    }
    maker = messages.get(error.validator)
    # Never fall back to jsonschema's own message: it quotes the value, which may be a secret.
    return maker() if maker else f"This value breaks the rule {error.validator!r}."
