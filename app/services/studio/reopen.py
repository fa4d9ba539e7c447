"""Reading a line the request builder wrote back into its form, with `ast` (never run)."""

from __future__ import annotations

import ast
import json

from app.services.errors import Invalid
from app.services.studio.request_builder import ParamField, RequestForm, Value, form_for


def parse_line(adaptor_ref: str, line: str) -> RequestForm:
    """The form filled from a line the builder wrote, or Invalid when it cannot be read back."""
    try:
        call = ast.parse((line or "").strip(), mode="eval").body
    except SyntaxError:
        raise Invalid("line", "This line is not a single operation call.") from None
    each = ""
    if _called(call) == "each" and len(call.args) == 2 and not call.keywords:
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
        scalar = _scalar(node)
        if scalar is None:
            break
        rows.append({"mode": scalar.mode, "value": scalar.value})
    else:
        return Value("list", rows=rows)
    return _json_value(ast.List(elts=list(nodes), ctx=ast.Load()), param)


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
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
            inner = _scalar(item)
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


def _json_value(node: ast.AST, param: ParamField) -> Value:
    try:
        literal = ast.literal_eval(node)
        return Value("json", json.dumps(literal, ensure_ascii=False))
    except (ValueError, TypeError, SyntaxError):
        raise Invalid(
            "line",
            f"The value of {param.name} was written by hand; edit it in the code editor.",
        ) from None
