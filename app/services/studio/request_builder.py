"""The request builder: a form per adaptor operation, generated from its parameter schema,
that writes one operation of job code, laid out over lines when long (code_format), and
reads such an operation back into the form (reopen).

A value is written in one of a few modes: text, number, true/false, a choice, a value from
the input (`S.data.name`), JSON, or a list of named fields (headers, query, a body). A
variadic parameter (`log(*args)`) takes a list of values, each written as its own positional
argument. The code is parsed back with `ast`, never evaluated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from app.services import adaptor_catalog
from app.services.errors import Invalid
from app.services.parsing import load_json
from app.services.studio.code_format import format_line

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Object parameters whose values are plain strings: key/value rows are the natural form.
PAIR_NAMES = {"headers", "query", "params", "form"}


@dataclass
class ParamField:
    """One parameter of an operation as the form shows it."""

    name: str
    title: str
    description: str
    required: bool
    modes: list[str]
    choices: list[str] = field(default_factory=list)
    default: object = None
    variadic: bool = False  # `*args`: its values are spread as positional arguments


@dataclass
class Value:
    """A parameter's value in the form: a mode and its text, or rows for `fields` (key, mode,
    value) and `list` (mode, value)."""

    mode: str
    value: str = ""
    rows: list[dict] = field(default_factory=list)


@dataclass
class RequestForm:
    """Everything the request form template needs."""

    adaptor: str
    operation: str
    summary: str
    example: str
    fields: list[ParamField]
    values: dict[str, Value] = field(default_factory=dict)
    each: str = ""


def operations(adaptor_ref: str) -> list[dict]:
    """The operations of the adaptor named in `adaptor_ref` ("http@1"), or []."""
    spec = adaptor_catalog.spec(adaptor_ref.split("@", 1)[0]) if adaptor_ref else None
    return list(spec["operations"]) if spec else []


def operation_spec(adaptor_ref: str, name: str) -> dict:
    """The spec of one operation, or Invalid naming the choices."""
    found = {op["name"]: op for op in operations(adaptor_ref)}
    if name not in found:
        choices = ", ".join(found) or "none"
        raise Invalid("operation", f"Choose an operation of this adaptor ({choices}).")
    return found[name]


def form_for(adaptor_ref: str, operation: str) -> RequestForm:
    """An empty form for the operation, with defaults filled in."""
    spec = operation_spec(adaptor_ref, operation)
    fields = _fields(spec)
    values = {f.name: Value(f.modes[0]) for f in fields}
    return RequestForm(
        adaptor_ref, operation, spec.get("summary", ""), spec.get("example", ""), fields, values
    )


def param_fields(adaptor_ref: str, operation: str) -> list[ParamField]:
    """The form's fields for one operation, required ones first."""
    return _fields(operation_spec(adaptor_ref, operation))


def _fields(spec: dict) -> list[ParamField]:
    schema = spec.get("parameters") or {}
    required = set(schema.get("required") or [])
    result = []
    for name, prop in (schema.get("properties") or {}).items():
        variadic = prop.get("variadic", False) is True  # the spec marks `*args` explicitly
        result.append(
            ParamField(
                name=name,
                title=prop.get("title") or name,
                description=prop.get("description") or "",
                required=name in required,
                modes=["list", "json", "input"] if variadic else _modes(name, prop),
                choices=[str(c) for c in prop.get("enum") or []],
                default=prop.get("default"),
                variadic=variadic,
            )
        )
    # Required parameters first, in schema order: they are written as positional arguments.
    return sorted(result, key=lambda f: not f.required)


def _modes(name: str, prop: dict) -> list[str]:
    if prop.get("enum"):
        return ["choice", "input"]
    types = prop.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if types == {"string"}:
        return ["text", "input"]
    if types <= {"number", "integer"}:
        return ["number", "input"]
    if types == {"boolean"}:
        return ["bool", "input"]
    if types == {"object"}:
        return ["fields", "input", "json"]
    if "object" in types and "string" in types:
        return ["fields", "input", "json", "text"]
    return ["json", "input"] + (["fields"] if "object" in types else [])


def build_line(adaptor_ref: str, operation: str, form: dict, each: str = "") -> str:
    """The line of job code for the form's values; Invalid names the parameter to fix.

    `form` maps each parameter name to a Value.
    """
    spec = operation_spec(adaptor_ref, operation)
    positional, keywords, spread, optional_seen = [], [], [], False
    fields = _fields(spec)
    for param in fields:
        value = form.get(param.name)
        if param.variadic:
            spread = _spread(param, value) if value is not None else []
            continue
        code = _code(param, value) if value is not None else None
        if code is None:
            if param.required:
                raise Invalid(param.name, f"{param.title} is required.")
            optional_seen = True
            continue
        if param.required and not optional_seen:
            positional.append(code)
        else:
            keywords.append(f"{param.name}={code}")
    if spread:
        _check_spread_order(spec, fields, keywords)
    call = f"{operation}({', '.join(positional + spread + keywords)})"
    each = (each or "").strip()
    if each:
        call = f"each({reference(each, 'each')}, {call})"
    return format_line(call)


def _spread(param: ParamField, value: Value) -> list[str]:
    """The positional arguments a variadic parameter's value stands for."""
    if value.mode == "list":
        codes = []
        for row in value.rows:
            inner = ParamField(param.name, param.title, "", False, [])
            code = _code(inner, Value(row.get("mode") or "text", str(row.get("value", ""))))
            if code is not None:
                codes.append(code)
        return codes
    text = (value.value or "").strip()
    if value.mode == "json" and text:
        parsed = load_json(text, field=param.name, what=param.title)
        # A JSON list is the list of values; anything else is one value.
        return [
            _python_literal(item) for item in (parsed if isinstance(parsed, list) else [parsed])
        ]
    if value.mode == "input" and text:
        return [reference(text, param.name)]  # one lazy value: spreading needs the list now
    if value.mode not in ("list", "json", "input"):
        raise Invalid(param.name, f"{param.title}: unknown kind of value {value.mode!r}.")
    return []


def _check_spread_order(spec: dict, fields: list[ParamField], keywords: list[str]) -> None:
    """Values spread into `*args` fill the positions after the required parameters, so an
    optional parameter declared before `*args` cannot also be given (Python would refuse)."""
    declared = list((spec.get("parameters") or {}).get("properties") or {})
    star = next(f for f in fields if f.variadic)
    before = set(declared[: declared.index(star.name)])
    titles = {f.name: f.title for f in fields}
    for keyword in keywords:
        name = keyword.split("=", 1)[0]
        if name in before:
            raise Invalid(
                name,
                f"{titles[name]}: leave it empty while {star.title} has values, "
                "or write this line in the code editor.",
            )


def code_for(param: ParamField, value: Value) -> str | None:
    """The Python text of one value (None when it is empty); Invalid when it is wrong."""
    return _code(param, value)


def _code(param: ParamField, value: Value) -> str | None:
    text = (value.value or "").strip()
    if value.mode == "fields":
        rows = [r for r in value.rows if str(r.get("key", "")).strip()]
        if not rows:
            return None
        items = []
        for row in rows:
            inner = ParamField(param.name, param.title, "", False, [])
            row_code = _code(inner, Value(row.get("mode") or "text", str(row.get("value", ""))))
            items.append(
                f"{json.dumps(str(row['key']).strip(), ensure_ascii=False)}: "
                f"{row_code if row_code is not None else 'None'}"
            )
        return "{" + ", ".join(items) + "}"
    if value.mode in ("text", "choice"):
        return json.dumps(value.value, ensure_ascii=False) if value.value != "" else None
    if not text:
        return None
    if value.mode == "input":
        return reference(text, param.name)
    if value.mode == "number":
        try:
            number = float(text)
        except ValueError:
            raise Invalid(param.name, f"{param.title}: {text!r} is not a number.") from None
        return str(int(number)) if number.is_integer() and "." not in text else repr(number)
    if value.mode == "bool":
        if text not in ("true", "false"):
            raise Invalid(param.name, f"{param.title}: choose yes or no.")
        return "True" if text == "true" else "False"
    if value.mode == "json":
        return _python_literal(load_json(text, field=param.name, what=param.title))
    raise Invalid(param.name, f"{param.title}: unknown kind of value {value.mode!r}.")


def reference(path: str, field_name: str) -> str:
    """`data.patient.name` as `S.data.patient.name` (keys that are not names in brackets)."""
    parts = [p for p in re.split(r"\.", path.strip()) if p != ""]
    if parts and parts[0] in ("S", "state"):
        parts = parts[1:]
    if not parts:
        raise Invalid(field_name, "Name a field of the input, e.g. data.name.")
    code = "S"
    for part in parts:
        if part.isdigit():
            code += f"[{part}]"
        elif IDENTIFIER.match(part):
            code += f".{part}"
        else:
            code += f"[{json.dumps(part, ensure_ascii=False)}]"
    return code


def _python_literal(value: object) -> str:
    if isinstance(value, dict):
        inner = ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)}: {_python_literal(v)}"
            for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_python_literal(v) for v in value) + "]"
    if value is True or value is False or value is None:
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def values_from_form(operation_spec_fields: list[ParamField], form) -> dict[str, Value]:
    """Read the posted form (`<param>-mode`, `<param>-value`, `<param>-key[]`...) into Values."""
    values = {}
    for param in operation_spec_fields:
        mode = form.get(f"{param.name}-mode") or param.modes[0]
        if mode not in param.modes:
            raise Invalid(param.name, f"{param.title}: choose how to give the value.")
        row_modes = form.getlist(f"{param.name}-rowmode")
        row_values = form.getlist(f"{param.name}-rowvalue")
        if mode == "list":  # values without names
            rows = [
                {"mode": m or "text", "value": v}
                for m, v in zip(row_modes, row_values, strict=False)
            ]
        else:
            rows = [
                {"key": k, "mode": m or "text", "value": v}
                for k, m, v in zip(
                    form.getlist(f"{param.name}-key"), row_modes, row_values, strict=False
                )
            ]
        values[param.name] = Value(mode, form.get(f"{param.name}-value", ""), rows)
    return values


def line_from_form(adaptor_ref: str, operation: str, form) -> str:
    """The code line for a posted request form."""
    fields = _fields(operation_spec(adaptor_ref, operation))
    return build_line(adaptor_ref, operation, values_from_form(fields, form), form.get("each", ""))


def form_with_values(adaptor_ref: str, operation: str, form) -> RequestForm:
    """The request form re-filled from a posted form (to show it again with an error)."""
    request_form = form_for(adaptor_ref, operation)
    request_form.values.update(values_from_form(request_form.fields, form))
    request_form.each = form.get("each", "")
    return request_form
