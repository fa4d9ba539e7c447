"""Laying out the job code the request builder writes: a call that fits stays on one line, a
longer one gets one argument per line (recursively, with trailing commas), the way ruff/black
would write it, so an analyst reading the body sees one operation per statement and each
mapped field on its own line. Only the builder's own shapes are laid out (calls, dicts, lists,
`S.` references and constants); the code is read with `ast`, never run."""

from __future__ import annotations

import ast
import json

WIDTH = 88  # the line length ruff formats the project's Python to
INDENT = "    "


def format_line(code: str) -> str:
    """`code` (one expression the builder wrote) laid out over as many lines as it needs."""
    node = ast.parse(code.strip(), mode="eval").body
    return _layout(node, 0)


def _layout(node: ast.expr, depth: int) -> str:
    flat = _flat(node)
    if len(INDENT * depth) + len(flat) <= WIDTH or not _breakable(node):
        return flat
    inner = INDENT * (depth + 1)
    if isinstance(node, ast.Call):
        parts = [_layout(arg, depth + 1) for arg in node.args]
        parts += [f"{kw.arg}={_layout(kw.value, depth + 1)}" for kw in node.keywords]
        return f"{_flat(node.func)}(\n" + _lines(parts, inner) + INDENT * depth + ")"
    if isinstance(node, ast.Dict):
        parts = [
            f"{_flat(key)}: {_layout(value, depth + 1)}"
            for key, value in zip(node.keys, node.values, strict=True)
        ]
        return "{\n" + _lines(parts, inner) + INDENT * depth + "}"
    parts = [_layout(item, depth + 1) for item in node.elts]  # a list
    return "[\n" + _lines(parts, inner) + INDENT * depth + "]"


def _lines(parts: list[str], inner: str) -> str:
    return "".join(f"{inner}{part},\n" for part in parts)


def _breakable(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        return bool(node.args or node.keywords)
    if isinstance(node, ast.Dict):
        return bool(node.keys) and None not in node.keys  # `**spread` is not the builder's
    return isinstance(node, ast.List) and bool(node.elts)


def _flat(node: ast.expr) -> str:
    """One-line text; strings in double quotes as the builder writes them (json.dumps)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return json.dumps(node.value, ensure_ascii=False)
    if isinstance(node, ast.Call):
        args = [_flat(arg) for arg in node.args]
        args += [f"{kw.arg}={_flat(kw.value)}" for kw in node.keywords]
        return f"{_flat(node.func)}({', '.join(args)})"
    if isinstance(node, ast.Dict) and None not in node.keys:
        items = [f"{_flat(k)}: {_flat(v)}" for k, v in zip(node.keys, node.values, strict=True)]
        return "{" + ", ".join(items) + "}"
    if isinstance(node, ast.List):
        return "[" + ", ".join(_flat(item) for item in node.elts) + "]"
    if isinstance(node, ast.Subscript):
        return f"{_flat(node.value)}[{_flat(node.slice)}]"
    if isinstance(node, ast.Attribute):
        return f"{_flat(node.value)}.{node.attr}"
    return ast.unparse(node)
