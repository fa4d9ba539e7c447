"""Static checks on job code, before any of it runs: the compiler's first line of defence.

They refuse what a job has no business doing (dunder attributes, eval/exec/open, reflective
attribute access by computed name, imports off the allowlist) with a message that names the
line and says what to do instead. The sandbox's process-level guards hold if something slips by.
The wording of the compiler's syntax and top-level-statement errors lives here too.
"""

from __future__ import annotations

import ast
import re
import string

from workers.runtime.errors import JobCompileError

JOB_FILENAME = "<job>"

# The modules job code may import; the sandbox's import guard reads this same constant.
ALLOWED_IMPORTS = frozenset({
    "json", "math", "re", "datetime", "time", "random", "uuid", "itertools", "functools",
    "collections", "statistics", "decimal", "base64", "hashlib", "hmac", "string", "textwrap",
    "urllib.parse", "csv", "io",
})  # fmt: skip

FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars",
    "breakpoint", "input",
})  # fmt: skip
REFLECTIVE_CALLS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
# Attributes that hand out interpreter frames and code objects.
FRAME_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame",
    "ag_code", "ag_await", "tb_frame", "tb_next", "f_back", "f_code", "f_globals", "f_locals",
    "f_builtins",
})  # fmt: skip
_PRIVATE_FORMAT_FIELD = re.compile(r"[.\[]\s*_")
# How error messages name the top-level statements a job may not have.
STATEMENT_KINDS = {
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
    ast.If: "an if statement",
    ast.With: "a with block",
    ast.AsyncWith: "a with block",
    ast.Try: "a try block",
    ast.Return: "a return statement",
    ast.Raise: "a raise statement",
    ast.Delete: "a del statement",
    ast.Assert: "an assert statement",
    ast.AsyncFunctionDef: "an async function",
    ast.Global: "a global statement",
    ast.Match: "a match statement",
}
LOGIC_HINT = (
    "Top-level statements become operations, run in order. Put logic inside "
    "fn(lambda state: ...) or a function decorated with @fn that takes and returns the state."
)


def is_dunder(name: str) -> bool:
    """True for names like __class__."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def mentions_s(node: ast.AST) -> ast.Name | None:
    """The first use of the name S inside `node`, if any."""
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id == "S":
            return child
    return None


def import_allowed(module: str, names: tuple[str, ...] = ()) -> bool:
    """True when `import module` (or `from module import names`) is on the allowlist."""
    if module in ALLOWED_IMPORTS:
        return True
    return bool(names) and all(f"{module}.{name}" in ALLOWED_IMPORTS for name in names)


def check_safety(tree: ast.Module) -> None:
    """Raise JobCompileError for the first construct (in source order) that jobs may not use."""
    _SafetyVisitor(_imported_names(tree)).visit(tree)


def _imported_names(tree: ast.Module) -> frozenset[str]:
    """The names imports bind anywhere in the job (`import a.b` binds `a`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
    return frozenset(names)


def _root_name(node: ast.expr) -> str | None:
    """`json` for json.JSONEncoder.encode; None when the chain does not start at a name."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _refuse(node: ast.AST, message: str) -> JobCompileError:
    line = getattr(node, "lineno", 1)
    return JobCompileError(f"Line {line}: {message}", line=line, code="code_not_allowed")


class _SafetyVisitor(ast.NodeVisitor):
    def __init__(self, imported: frozenset[str]) -> None:
        self.imported = imported

    def _refuse_changing_a_module(self, node: ast.AST, target: ast.expr) -> None:
        # A module (and its classes) lives in the sandbox server and is shared by the
        # runtime itself: changing it would change how the runtime and adaptors behave.
        root = _root_name(target)
        if root in self.imported:
            raise _refuse(
                node,
                f"{root!r} is an imported module: jobs may not change modules or their "
                "classes. Keep your own values in variables or in the state.",
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._refuse_changing_a_module(node, node.value)
        if is_dunder(node.attr):
            raise _refuse(
                node,
                f"the attribute {node.attr!r} is not available in Ferry jobs (double-underscore "
                "attributes reach Python's internals). Work with the data itself.",
            )
        if node.attr in FRAME_ATTRIBUTES:
            raise _refuse(node, f"the attribute {node.attr!r} is not available in Ferry jobs.")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES or is_dunder(node.id):
            raise _refuse(
                node,
                f"{node.id!r} is not available in Ferry jobs: jobs cannot run other code, read "
                "files or reach the interpreter. Use the operations and allowed modules.",
            )
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            self._refuse_changing_a_module(node, node.args[0])
        if isinstance(func, ast.Name) and func.id in REFLECTIVE_CALLS and len(node.args) >= 2:
            name = node.args[1]
            literal = isinstance(name, ast.Constant) and isinstance(name.value, str)
            if not literal or name.value.startswith("_"):  # type: ignore[union-attr]
                raise _refuse(
                    node,
                    f"{func.id}() needs a plain attribute name written out, not starting with "
                    "'_'; write obj.name instead.",
                )
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map"):
            self._check_format(node)
        self.generic_visit(node)

    def _check_format(self, node: ast.Call) -> None:
        # "{0.__class__}".format(x) walks attributes the static checks cannot see.
        func = node.func
        assert isinstance(func, ast.Attribute)
        candidates = [func.value, *node.args[:1]]
        for candidate in candidates:
            if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
                try:
                    fields = [f for _, f, _, _ in string.Formatter().parse(candidate.value) if f]
                except ValueError:
                    continue
                if any(_PRIVATE_FORMAT_FIELD.search(f) for f in fields):
                    raise _refuse(node, "format fields may not read attributes starting with '_'.")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if not import_allowed(alias.name):
                raise _import_refused(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        names = tuple(alias.name for alias in node.names)
        if node.level:
            raise _refuse(node, "relative imports are not available in Ferry jobs.")
        if "*" in names:
            raise _refuse(node, f"import the names you need: from {module} import name1, name2.")
        if not import_allowed(module, names):
            raise _import_refused(node, module)
        for name in names:
            if name.startswith("_"):
                raise _refuse(node, f"importing the private name {name!r} is not allowed.")
        self.generic_visit(node)


def _import_refused(node: ast.AST, module: str) -> JobCompileError:
    allowed = ", ".join(sorted(ALLOWED_IMPORTS))
    error = _refuse(
        node,
        f"importing {module!r} is not allowed in Ferry jobs. Allowed modules: {allowed}. "
        "Operations from the step's adaptor are available without importing them.",
    )
    error.code, error.details = "import_blocked", {"module": module}
    return error


def syntax_error(exc: SyntaxError) -> JobCompileError:
    """The error for Python's SyntaxError, naming its line."""
    line = exc.lineno or 1
    text = f" ({exc.text.strip()})" if exc.text and exc.text.strip() else ""
    return JobCompileError(
        f"Syntax error on line {line}: {exc.msg}{text}. Check that brackets, quotes and "
        "colons are closed and that indentation is consistent.",
        line=line,
        code="syntax_error",
        details={"line": line, "problem": exc.msg},
    )


def bad_statement(stmt: ast.stmt) -> JobCompileError:
    """The error for a top-level statement that is neither an operation nor set-up."""
    kind = STATEMENT_KINDS.get(type(stmt))
    if kind is None and isinstance(stmt, ast.Expr):
        kind = f"the expression {ast.unparse(stmt)[:60]!r}"
    kind = kind or f"a {type(stmt).__name__} statement"
    message = f"Line {stmt.lineno}: {kind} cannot stand at the top level of a job. {LOGIC_HINT}"
    return JobCompileError(message, line=stmt.lineno)
