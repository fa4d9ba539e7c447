"""The start of a large JSON text, indented for reading although it is cut mid-value, and
the sizes its preview notice states.

`json` cannot parse a prefix, and parsing the whole body to indent its first kilobytes is
what a preview exists to avoid, so this walks the characters: a newline after each
bracket and comma outside strings, indented by depth.
"""

from __future__ import annotations

import re

_INDENT = "  "
# Runs of characters that need no decision: anything but brackets, commas, quotes and
# backslashes (inside a string, only quotes and backslashes matter).
_PLAIN = re.compile(r'[^{}\[\],"\\]+')
_IN_STRING = re.compile(r'[^"\\]+')


def indent_prefix(text: str) -> str:
    """`text` (the first part of compact JSON, as PostgreSQL prints jsonb) indented."""
    out: list[str] = []
    depth, i, in_string, line_start = 0, 0, False, False
    while i < len(text):
        plain = (_IN_STRING if in_string else _PLAIN).match(text, i)
        if plain:
            # jsonb's text has a space after each comma: the newline replaces it.
            out.append(plain.group().lstrip(" ") if line_start else plain.group())
            i, line_start = plain.end(), False
            continue
        line_start = False
        char = text[i]
        if in_string:
            if char == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            in_string = char != '"'
            out.append(char)
        elif char == '"':
            in_string = True
            out.append(char)
        elif char in "{[":
            depth += 1
            closes_at_once = i + 1 < len(text) and text[i + 1] in "}]"
            out.append(char if closes_at_once else char + "\n" + _INDENT * depth)
            line_start = not closes_at_once
        elif char in "}]":
            depth = max(depth - 1, 0)
            if i > 0 and text[i - 1] in "{[":
                out.append(char)
            else:
                out.append("\n" + _INDENT * depth + char)
        else:  # a comma
            out.append(",\n" + _INDENT * depth)
            line_start = True
        i += 1
    return "".join(out)


def human_size(size: int) -> str:
    """A size as people read it: 20 KB, 9.5 MB (of text: characters, near enough bytes)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"
