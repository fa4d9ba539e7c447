"""The job-expression compiler: Python job code -> an ordered list of operations.

As OpenFn's compiler does for JavaScript, each top-level call is an operation and they run in
order; top-level `def`s, classes, assignments and imports run first, once, to set things up.
`@fn` on a def makes that function an operation in its place. An argument of an operation call
that mentions `S` becomes a lazy value evaluated against the state when the operation runs,
except an argument that is itself an operation call (`each(S.data, post("/x", S.data))`): its
own arguments are treated the same way, so there `S` is the state the inner operation gets.

Job code is untrusted. `compiler_checks` refuses the obvious escapes before anything runs,
and the code runs with a small builtins dict; the sandbox adds process-level protection on top.

Long because the AST rewrite is one recursive transformation; the checks and builtins already
live in `compiler_checks` and `compiler_builtins`.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import CodeType, SimpleNamespace
from typing import NamedTuple

from workers.runtime.compiler_builtins import job_builtins, job_line
from workers.runtime.compiler_checks import (
    ALLOWED_IMPORTS,
    JOB_FILENAME,
    LOGIC_HINT,
    bad_statement,
    check_safety,
    mentions_s,
    syntax_error,
)
from workers.runtime.errors import JobCompileError, RuntimeFailure, SecurityViolation, code_of
from workers.runtime.lazy import LazyArgument, S, is_helper

__all__ = ["ALLOWED_IMPORTS", "CompiledJob", "Step", "compile_job"]

_OPS = "__ferry_ops__"  # job code cannot spell dunder names, so these cannot be shadowed
_LAZY = "__ferry_lazy__"


class Step(NamedTuple):
    """One operation ready to run: its line in the job, the name it was called by, the callable."""

    line: int
    name: str
    operation: Callable[[dict], dict]


@dataclass(frozen=True)
class _Planned:
    line: int
    name: str
    code: CodeType


@dataclass
class CompiledJob:
    """Checked, compiled job code; `build()` runs the set-up and returns the operations."""

    setup: CodeType
    planned: list[_Planned]
    available: Mapping[str, Callable]
    operations: list[Step] = field(default_factory=list)

    def build(self) -> list[Step]:
        """Run the top-level defs, assignments and imports, then create the operations in order."""
        builtins = job_builtins()
        namespace: dict = {"__builtins__": builtins, "__name__": "job", "S": S}
        # A Python builtin of the same name (map) stays the builtin inside functions; the
        # top-level call still reaches the operation through _OPS.
        namespace.update({k: v for k, v in self.available.items() if k not in builtins})
        # A family of operations ("collections.get") is one name inside functions too.
        namespace.update(_families(self.available))
        namespace[_OPS] = dict(self.available)
        namespace[_LAZY] = LazyArgument
        try:
            # Checked job code, with restricted builtins, in the sandbox child.
            exec(self.setup, namespace)  # noqa: S102  # nosec B102
        except MemoryError:
            raise  # the sandbox reports it as the memory limit
        except Exception as exc:
            raise _failure(exc, job_line(exc), "while setting up the job") from exc
        steps = []
        for planned in self.planned:
            try:
                # One checked operation call, compiled by this module.
                made = eval(planned.code, namespace)  # noqa: S307  # nosec B307
            except MemoryError:
                raise
            except Exception as exc:
                raise _failure(exc, planned.line, f"in {planned.name}(...)") from exc
            if not callable(made):
                message = f"{planned.name}(...) gave {type(made).__name__}, not an operation."
                raise JobCompileError(f"Line {planned.line}: {message}", line=planned.line)
            steps.append(Step(planned.line, planned.name, made))
        self.operations = steps
        return steps


def _families(available: Mapping[str, Callable]) -> dict[str, SimpleNamespace]:
    families: dict[str, dict[str, Callable]] = {}
    for name, factory in available.items():
        if "." in name:
            family, member = name.split(".", 1)
            families.setdefault(family, {})[member] = factory
    return {family: SimpleNamespace(**members) for family, members in families.items()}


def _compile(node: ast.Module | ast.Expression, mode: str) -> CodeType:
    # Some mistakes only show when compiling (yield outside a function, a bad nonlocal).
    try:
        return compile(ast.fix_missing_locations(node), JOB_FILENAME, mode)
    except SyntaxError as exc:
        raise syntax_error(exc) from None


def _failure(exc: Exception, line: int | None, where: str) -> RuntimeFailure:
    if isinstance(exc, RuntimeFailure):
        exc.line = exc.line or line
        return exc
    prefix = f"Line {line}: " if line else ""
    if isinstance(exc, PermissionError | ImportError) and "Ferry sandbox" in str(exc):
        return SecurityViolation(f"{prefix}{exc}", line=line)
    code, details = code_of(exc)  # an operation's own code (each given no list) survives
    message = f"{prefix}{type(exc).__name__} {where}: {exc}"
    return JobCompileError(message, line=line, code=code, details=details)


def compile_job(
    source: str, available: Mapping[str, Callable], *, adaptor: str = ""
) -> CompiledJob:
    """Check and compile job code; `available` maps operation names to factories."""
    try:
        tree = ast.parse(source, filename=JOB_FILENAME)
    except SyntaxError as exc:
        raise syntax_error(exc) from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise JobCompileError(f"The job code cannot be read: {exc}", line=1) from None
    check_safety(tree)
    return _Planner(available, adaptor).plan(tree)


class _Planner:
    """Sorts top-level statements into set-up and operations, rewriting lazy arguments."""

    def __init__(self, available: Mapping[str, Callable], adaptor: str):
        self.available = available
        self.adaptor = adaptor
        self.defined: set[str] = set()

    def plan(self, tree: ast.Module) -> CompiledJob:
        setup: list[ast.stmt] = []
        planned: list[_Planned] = []
        self.defined = {s.name for s in tree.body if isinstance(s, ast.FunctionDef | ast.ClassDef)}
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                planned.append(self._operation(stmt.value, stmt.lineno))
            elif isinstance(stmt, ast.Pass) or _is_docstring(stmt):
                continue
            elif isinstance(stmt, ast.FunctionDef | ast.ClassDef):
                setup.append(self._definition(stmt, planned))
            elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                self._refuse_s(stmt)
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    for node in ast.walk(target):
                        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                            self._binds(node.id, stmt.lineno)
                setup.append(stmt)
            elif isinstance(stmt, ast.Import | ast.ImportFrom):
                for alias in stmt.names:
                    self._binds((alias.asname or alias.name).split(".")[0], stmt.lineno)
                setup.append(stmt)
            else:
                raise bad_statement(stmt)
        code = _compile(ast.Module(body=setup, type_ignores=[]), "exec")
        return CompiledJob(code, planned, self.available)

    # --- statements ---

    def _operation(self, call: ast.Call, line: int) -> _Planned:
        name = _dotted(call.func)
        if name is None or ("." in name and name.split(".")[0] not in self._namespaces()):
            shown = ast.unparse(call.func)
            raise JobCompileError(
                f"Line {line}: {shown}(...) is not an operation. {LOGIC_HINT}", line=line
            )
        self._check_operation_name(name, line)
        expression = ast.Expression(body=self._rewrite_call(call))
        code = _compile(expression, "eval")
        return _Planned(line, name, code)

    def _definition(self, stmt: ast.FunctionDef | ast.ClassDef, planned: list) -> ast.stmt:
        self._refuse_s(stmt)
        self._binds(stmt.name, stmt.lineno)
        kept = []
        for decorator in stmt.decorator_list:
            name = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(name, ast.Name) and name.id == "fn" and decorator is name:
                if isinstance(stmt, ast.ClassDef):
                    raise JobCompileError(
                        f"Line {stmt.lineno}: @fn goes on a function, not a class.",
                        line=stmt.lineno,
                    )
                call = ast.Call(func=ast.Name("fn", ast.Load()), args=[], keywords=[])
                call.args.append(ast.Name(stmt.name, ast.Load()))
                planned.append(self._operation(ast.copy_location(call, stmt), stmt.lineno))
            elif isinstance(name, ast.Name) and self._is_operation(name.id):
                line = decorator.lineno
                raise JobCompileError(
                    f"Line {line}: @{name.id} cannot decorate a function; only @fn can. "
                    f"Call {name.id}(...) at the top level instead.",
                    line=line,
                )
            else:
                kept.append(decorator)
        stmt.decorator_list = kept
        return stmt

    # --- names ---

    def _namespaces(self) -> set[str]:
        # Operations may come in families ("collections.get"): the family names.
        return {name.split(".")[0] for name in self.available if "." in name}

    def _is_operation(self, name: str) -> bool:
        return name in self.available and not is_helper(self.available[name])

    def _binds(self, name: str, line: int) -> None:
        if name in self.available:
            raise JobCompileError(
                f"Line {line}: {name!r} is the name of an operation; choose another name.",
                line=line,
            )
        self.defined.add(name)

    def _check_operation_name(self, name: str, line: int) -> None:
        if self._is_operation(name):
            return
        if name in self.available:
            message = (
                f"{name}() is a helper, not an operation: call it inside a function, e.g. "
                f"fn(lambda state: {{**state, 'data': {name}(state['data'], ...)}})."
            )
        elif name in self.defined:
            message = (
                f"{name} is defined in this job, not an operation. Run it with "
                f"fn({name}) or decorate it with @fn (it must take and return the state)."
            )
        else:
            message = f"unknown operation {name!r}." + self._suggestion(name)
        raise JobCompileError(f"Line {line}: {message}", line=line)

    def _suggestion(self, name: str) -> str:
        operations = sorted(n for n in self.available if self._is_operation(n))
        close = difflib.get_close_matches(name, operations, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(n for n in operations if n == n.lower())
        who = f"the {self.adaptor} adaptor" if self.adaptor else "this adaptor"
        return f"{hint} Operations available with {who}: {listed}."

    def _refuse_s(self, node: ast.AST, inside_lambda: bool = False) -> None:
        found = mentions_s(node)
        if found is None:
            return
        line = found.lineno
        if inside_lambda:
            message = (
                "S inside a lambda: the lambda already receives the state, so use its "
                "parameter (state['data']) instead of S."
            )
        else:
            message = (
                "S can only be used in the arguments of an operation call, e.g. "
                "get(S.data.url): it stands for the state when that operation runs. In "
                "functions, read the state parameter (state['data']) instead."
            )
        raise JobCompileError(f"Line {line}: {message}", line=line)

    # --- lazy arguments ---

    def _rewrite_call(self, call: ast.Call) -> ast.Call:
        name = _dotted(call.func)
        func = ast.Subscript(ast.Name(_OPS, ast.Load()), ast.Constant(name), ast.Load())
        args = [self._rewrite_argument(arg) for arg in call.args]
        keywords = []
        for keyword in call.keywords:
            if keyword.arg is None:
                self._refuse_s(keyword.value)
                keywords.append(keyword)
            else:
                value = self._rewrite_argument(keyword.value)
                keywords.append(ast.copy_location(ast.keyword(keyword.arg, value), keyword))
        return ast.copy_location(ast.Call(ast.copy_location(func, call), args, keywords), call)

    def _rewrite_argument(self, node: ast.expr) -> ast.expr:
        if isinstance(node, ast.Call) and self._is_operation(_dotted(node.func) or ""):
            return self._rewrite_call(node)
        if isinstance(node, ast.Lambda):
            self._refuse_s(node, inside_lambda=True)
            return node
        if isinstance(node, ast.Starred):
            self._refuse_s(node)
            return node
        if mentions_s(node) is None:
            return node
        parameters = ast.arguments(
            posonlyargs=[], args=[ast.arg("S")], kwonlyargs=[], kw_defaults=[], defaults=[]
        )
        body = ast.copy_location(ast.Lambda(parameters, node), node)
        source = ast.Constant(ast.unparse(node))
        wrapped = ast.Call(ast.Name(_LAZY, ast.Load()), [body, source], [])
        return ast.copy_location(wrapped, node)


def _dotted(node: ast.expr) -> str | None:
    """The name called: fn for `fn`, collections.get for `collections.get`, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _is_docstring(stmt: ast.stmt) -> bool:
    # A bare string reads as a comment or docstring; anything else bare is a mistake.
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
