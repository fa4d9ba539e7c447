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
        if name != "common":
            lines.append("Every job also has the common operations: ferry docs common")
        return "\n".join(lines)
    op = operations.get(operation)
    if op is None and name != "common":
        # Every job has the common operations too (fn, collections.get, ...): documented once,
        # in the common spec, but asked for under any adaptor.
        op = next((o for o in spec("common")["operations"] if o["name"] == operation), None)
        name = "common" if op is not None else name
    if op is None:
        raise LookupError(
            f"{name} has no operation {operation!r}; it has: {', '.join(operations)}."
        )
    # An operation of a family (collections.get) is called by that name in every job.
    title = operation if "." in operation else f"{name}.{operation}"
    lines = [f"{title}: {op['summary']}", ""]
    if op.get("description"):
        lines += [textwrap.fill(op["description"], 88), ""]
    lines.append("Parameters:")
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
