"""`ferry docs`: an adaptor's operations as text, from its spec in adaptor_specs/."""

from __future__ import annotations

import textwrap

from workers.adaptors import UnknownAdaptor, parse_ref, spec


def render(adaptor: str, operation: str | None = None) -> str:
    """The adaptor's operation list, or one operation in detail; LookupError if unknown."""
    try:
        name, _ = parse_ref(adaptor)
        document = spec(name)
    except (UnknownAdaptor, FileNotFoundError) as error:
        raise LookupError(str(error)) from None
    operations = {op["name"]: op for op in document["operations"]}
    if operation is None:
        width = max(len(n) for n in operations)
        lines = [
            f"{document.get('label', name)} ({name} {document['version']})",
            textwrap.fill(document.get("description", ""), 88),
            "",
            "Operations:",
        ]
        lines += [f"  {n.ljust(width)}  {op['summary']}" for n, op in operations.items()]
        lines += ["", f"More: ferry docs {name} OPERATION"]
        return "\n".join(lines)
    op = operations.get(operation)
    if op is None:
        raise LookupError(
            f"{name} has no operation {operation!r}; it has: {', '.join(operations)}."
        )
    lines = [f"{name}.{operation}: {op['summary']}", "", "Parameters:"]
    schema = op.get("parameters", {})
    required = set(schema.get("required", []))
    for param, details in schema.get("properties", {}).items():
        kind = details.get("type", "any")
        kind = "/".join(kind) if isinstance(kind, list) else kind
        flag = "required" if param in required else "optional"
        text = details.get("description") or details.get("title") or ""
        lines.append(f"  {param} ({kind}, {flag}): {text}")
    if op.get("writes"):
        lines += ["", f"Writes: {', '.join(op['writes'])}"]
    lines += ["", "Example:", f"  {op['example']}"]
    return "\n".join(lines)
