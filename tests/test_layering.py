"""The import graph keeps its shape: no circles anywhere, and no arrow back up.

Dependencies point one way (`../shared/design/CONVENTIONS.md`): web -> services -> models,
workers -> services/runtime -> models; the runtime is pure Python. Every import counts,
including those inside functions (that is where circles hide); imports under
`if TYPE_CHECKING:` do not, since they never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "workers")

# (importer prefix, imported prefix, why it is forbidden)
FORBIDDEN = [
    ("app", "workers", "app names worker jobs only as dotted-path strings handed to RQ"),
    ("app.models", "app.services", "models sit below services"),
    ("app.models", "app.web", "models sit below the web layer"),
    ("app.services", "app.web", "services never reach up into HTTP"),
    ("app.scrub", "app.", "the scrubber is pure: it imports nothing else of Ferry"),
    ("app.egress_rules", "app.", "the egress rules are pure: they import nothing else of Ferry"),
    ("app.json_text", "app.", "JSON text in pieces is pure: it imports nothing else of Ferry"),
    ("workers.runtime", "app.", "the runtime is pure: no Flask, no database"),
    ("workers.adaptors", "app.", "adaptors run in the sandbox: no Flask, no database"),
]
# Modules of `app` that the sandbox may import: pure Python, no Flask, no database.
SHARED_PURE_MODULES = {"app.scrub", "app.egress_rules", "app.json_text"}
# Pure modules that must not pull a web framework or the database into a sandbox.
PURE_PREFIXES = (
    "workers.runtime",
    "workers.adaptors",
    "app.scrub",
    "app.egress_rules",
    "app.json_text",
)
PURE_FORBIDDEN_THIRD_PARTY = ("flask", "flask_login", "flask_sqlalchemy", "sqlalchemy", "rq")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "static" in path.parts or "templates" in path.parts:
                continue
            found[module_name(path)] = path
    return found


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imported_names(path: Path, this_module: str) -> set[str]:
    """Every dotted name this file imports (modules, or package.attribute candidates)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = this_module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> the Ferry modules it imports (a name resolves to the longest known module)."""
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, name):
            if imported in modules:
                targets.add(imported)
        targets.discard(name)
        # `from app.services.runs import queue` names both the package and the module; the
        # module is what is imported, the package __init__ is only executed on the way.
        graph[name] = {
            t for t in targets if not any(o.startswith(t + ".") for o in targets if o != t)
        } | {t for t in targets if modules[t].name != "__init__.py"}
    return graph


def third_party_imports(path: Path, this_module: str) -> set[str]:
    return {n.split(".")[0] for n in imported_names(path, this_module) if n}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles():
    """A circle means two modules each need the other: the shared part belongs lower."""
    assert circles(import_graph()) == []


def test_circle_detection_sees_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN)
def test_no_arrow_back_up(importer, imported, why):
    graph = import_graph()
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == importer or module.startswith(importer + ".")
        for target in targets
        if (target.startswith(imported) or target == imported.rstrip("."))
        and target not in SHARED_PURE_MODULES
    )
    assert offenders == [], why


def test_pure_modules_import_no_web_framework_or_database():
    modules = all_modules()
    offenders = sorted(
        f"{name} imports {package}"
        for name, path in modules.items()
        if name.startswith(PURE_PREFIXES)
        for package in third_party_imports(path, name) & set(PURE_FORBIDDEN_THIRD_PARTY)
    )
    assert offenders == []


def test_importing_the_scrubber_loads_no_web_framework():
    """The sandbox server imports `app.scrub` and `app.egress_rules`; `app/__init__` must not
    drag Flask along."""
    code = (
        "import sys, app.scrub, app.egress_rules, workers.runtime.sandbox_child; "
        "print(sorted(m for m in ('flask', 'sqlalchemy', 'flask_login') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
