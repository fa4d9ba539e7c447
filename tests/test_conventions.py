"""House rules a reader relies on (`../shared/design/CONVENTIONS.md`): every module says what
it owns, every service package says what lives inside, and a module that grows past about
300 lines says at its top why it is long."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# "About 300 lines": a little leeway, so a docstring or an import does not trip the rule.
LONG_MODULE_LINES = 330
LONG_REASON = "Long because"


def source_modules() -> list[Path]:
    return sorted(
        path
        for package in ("app", "workers")
        for path in (ROOT / package).rglob("*.py")
        if "static" not in path.parts
    )


def docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def test_every_module_says_what_it_owns():
    missing = [
        str(path.relative_to(ROOT))
        for path in source_modules()
        if path.read_text().strip() and not docstring(path)
    ]
    assert missing == []


def test_every_service_package_says_what_lives_inside():
    packages = [p for p in (ROOT / "app" / "services").iterdir() if (p / "__init__.py").is_file()]
    assert packages, "app/services should hold domain packages"
    assert [p.name for p in packages if not docstring(p / "__init__.py")] == []


def test_service_modules_are_not_named_with_a_prefix_standing_in_for_a_folder():
    prefixes = {p.name for p in (ROOT / "app" / "services").iterdir() if p.is_dir()}
    offenders = [
        path.name
        for path in (ROOT / "app" / "services").glob("*.py")
        if any(path.stem.startswith(f"{prefix.rstrip('s')}_") for prefix in prefixes)
    ]
    assert offenders == []


def test_long_modules_say_why():
    unexplained = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in source_modules()
        if (lines := path.read_text().count("\n")) > LONG_MODULE_LINES
        and LONG_REASON not in docstring(path)
    ]
    assert unexplained == []
