"""Reading an operation the request builder wrote back into its form, with `ast` (never run).

The builder lays long operations out over several lines, so "Edit line" finds the whole
statement around the cursor (`statement_at`) before reading it."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from app.services.errors import Invalid
from app.services.studio.request_builder import ParamField, RequestForm, Value, form_for

# How far around the cursor a statement is looked for when the body does not parse as a whole.
SCAN_LINES = 80


@dataclass
class Statement:
    """The text of one statement of the body and the rows (0-based, inclusive) it spans."""

    text: str
    first: int
    last: int


def statement_at(body: str, row: int) -> Statement:
    """The top-level statement of `body` that covers line `row`; Invalid when there is none.

    When the body has a syntax error elsewhere (a half-typed line), the nearest lines around
    the cursor that parse as one expression are taken instead."""
    lines = (body or "").split("\n")
    if not 0 <= row < len(lines) or not lines[row].strip():
        raise Invalid("line", "Put the cursor on a line the form wrote, then press Edit line.")
    try:
        tree = ast.parse(body)
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        for stmt in tree.body:
            if stmt.lineno - 1 <= row <= (stmt.end_lineno or stmt.lineno) - 1:
                first, last = stmt.lineno - 1, (stmt.end_lineno or stmt.lineno) - 1
                return Statement("\n".join(lines[first : last + 1]), first, last)
        raise Invalid("line", "Put the cursor on a line the form wrote, then press Edit line.")
    for first in range(row, max(-1, row - SCAN_LINES), -1):
        if lines[first][:1].isspace():
            continue  # a statement the builder wrote starts at the left edge
        for last in range(row, min(len(lines), first + SCAN_LINES)):
            text = "\n".join(lines[first : last + 1])
            try:
                ast.parse(text, mode="eval")
            except (SyntaxError, ValueError):
                continue
            return Statement(text, first, last)
    return Statement(lines[row], row, row)  # parse_line says why it cannot be read


def parse_line(adaptor_ref: str, line: str) -> RequestForm:
    """The form filled from a line the builder wrote, or Invalid when it cannot be read back."""
    try:
        call = ast.parse((line or "").strip(), mode="eval").body
    except (SyntaxError, ValueError):  # ValueError: a NUL character
        raise Invalid("line", "This line is not a single operation call.") from None
    each = ""
    # each(<list>, <operation>) is "Repeat for each"; common.each written with other values
    # (its own form) is an ordinary call.
    if (
        _called(call) == "each"
        and len(call.args) == 2
        and not call.keywords
        and _called(call.args[1]) is not None
    ):
        each = _path_of(call.args[0]) or ""
        if not each:
            raise Invalid("line", "each() must repeat over a field of the input, e.g. S.data.")
        call = call.args[1]
    name = _called(call)
    if name is None:
        raise Invalid("line", "This line is not an operation call the form can open.")
    form = form_for(adaptor_ref, name)
    fields = {f.name: f for f in form.fields}
    positional = [f.name for f in form.fields if f.required]
    variadic = next((f for f in form.fields if f.variadic), None)
    extra = call.args[len(positional) :]
    if extra and variadic is None:
        raise Invalid("line", "This line passes more values than the form knows about.")
    given = list(zip(positional, call.args, strict=False))
    given += [(kw.arg, kw.value) for kw in call.keywords]
    for param_name, node in given:
        if param_name not in fields:
            raise Invalid("line", f"{name}() has no parameter {param_name!r}.")
        form.values[param_name] = _value_of(node, fields[param_name])
    if extra:
        form.values[variadic.name] = _spread_of(extra, variadic)
    form.each = each
    return form


def _spread_of(nodes: list[ast.expr], param: ParamField) -> Value:
    """The values a line spread into `*args`: one row each, or JSON when one is not a plain
    value the rows can hold."""
    rows = []
    for node in nodes:
        scalar = _row_value(node)
        if scalar is None:
            break
        rows.append({"mode": scalar.mode, "value": scalar.value})
    else:
        return Value("list", rows=rows)
    return _json_value(ast.List(elts=list(nodes), ctx=ast.Load()), param)


def _called(node: ast.AST) -> str | None:
    """The operation a call names: `fn` for fn(...), `collections.get` for an operation of a
    family (the spec's name for it); None when `node` is not such a call."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return None


def _path_of(node: ast.AST) -> str | None:
    """`S.data["first name"][0]` as `data.first name.0`; None if it is not a reference."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            parts.append(str(node.slice.value))
            node = node.value
        elif isinstance(node, ast.Name) and node.id == "S" and parts:
            return ".".join(reversed(parts))
        else:
            return None


def _value_of(node: ast.AST, param: ParamField) -> Value:
    path = _path_of(node)
    if path is not None:
        return Value("input", path)
    if isinstance(node, ast.Dict) and "fields" in param.modes:
        rows = []
        for key, item in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return _json_value(node, param)
            inner = _row_value(item)
            if inner is None:
                return _json_value(node, param)
            rows.append({"key": key.value, "mode": inner.mode, "value": inner.value})
        return Value("fields", rows=rows)
    scalar = _scalar(node)
    if scalar is not None:
        if scalar.mode == "text" and "choice" in param.modes:
            return Value("choice", scalar.value)
        if scalar.mode in param.modes:
            return scalar
    return _json_value(node, param)


def _scalar(node: ast.AST) -> Value | None:
    path = _path_of(node)
    if path is not None:
        return Value("input", path)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            return Value("bool", "true" if node.value else "false")
        if isinstance(node.value, int | float):
            return Value("number", repr(node.value))
        if isinstance(node.value, str):
            return Value("text", node.value)
    return None


def _row_value(node: ast.AST) -> Value | None:
    """One row of a list of fields or values: a plain value, or JSON (a row may hold it)."""
    scalar = _scalar(node)
    if scalar is not None:
        return scalar
    try:
        literal = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    return Value("json", json.dumps(literal, ensure_ascii=False))


def _json_value(node: ast.AST, param: ParamField) -> Value:
    try:
        literal = ast.literal_eval(node)
        return Value("json", json.dumps(literal, ensure_ascii=False))
    except (ValueError, TypeError, SyntaxError):
        raise Invalid(
            "line",
            f"The value of {param.name} was written by hand; edit it in the code editor.",
        ) from None
