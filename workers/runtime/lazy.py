"""Lazy values: arguments that are only known once an operation runs against a state.

An operation factory such as `post(path, body)` receives its arguments when the job is built,
but a value like `S.data.name` means "the name in the data at the moment `post` runs". Such
values are callables `state -> value`; `resolve(value, state)` turns them into plain data.

- `S` is the lazy state marker: `S.data.id` (from Python) is a callable reading that path.
  In job code the compiler goes further and wraps a whole argument that mentions `S`, so
  `f"/patients/{S.data.id}"` works; there `S` is a read-only view of the state.
- `operation(fn)` marks a callable `state -> state` as an operation, so `resolve` never
  mistakes it for a lazy value; `helper(fn)` marks a plain function (`chunk`, `field`) that
  job code calls inside functions, never as a top-level operation.

Long because `S`, its read-only state view and `resolve` are one small language; each part
relies on the others' markers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from workers.runtime.errors import tag

F = TypeVar("F", bound=Callable[..., Any])
Path = tuple[str | int, ...]

_OPERATION_MARK = "__ferry_operation__"
_HELPER_MARK = "__ferry_helper__"


def operation(fn: F) -> F:
    """Mark `fn` (a callable state -> state) as an operation; returns it (or a marked wrapper)."""
    try:
        setattr(fn, _OPERATION_MARK, True)
    except (AttributeError, TypeError):  # builtins and bound methods take no attributes

        def wrapper(state: dict) -> dict:
            return fn(state)

        setattr(wrapper, _OPERATION_MARK, True)
        return wrapper  # type: ignore[return-value]
    return fn


def is_operation(value: object) -> bool:
    """True when `value` was marked by `operation`."""
    return callable(value) and _marked(value, _OPERATION_MARK)


def helper(fn: F) -> F:
    """Mark `fn` as a helper: usable inside job functions, refused as a top-level operation."""
    setattr(fn, _HELPER_MARK, True)
    return fn


def is_helper(value: object) -> bool:
    """True when `value` was marked by `helper`."""
    return callable(value) and _marked(value, _HELPER_MARK)


def _marked(value: object, mark: str) -> bool:
    # Views and lazy paths answer attribute reads from the state; only look at real attributes.
    if isinstance(value, LazyPath | StateDict | StateList):
        return False
    return getattr(value, mark, None) is True


def resolve(value: object, state: dict) -> Any:
    """Plain data for `value` against `state`: call lazy values, resolve inside lists and dicts."""
    if is_operation(value) or isinstance(value, type):
        return value
    if callable(value):
        return _resolve_inside(unwrap(value(state)), state)
    return _resolve_inside(value, state)


def _resolve_inside(value: Any, state: dict) -> Any:
    if isinstance(value, StateDict | StateList):
        return value._raw
    return _rebuilt(value, lambda item: resolve(item, state))


def unwrap(value: Any) -> Any:
    """The plain data behind state views, also inside lists, tuples and dicts."""
    if isinstance(value, StateDict | StateList):
        return value._raw
    return _rebuilt(value, unwrap)


def _rebuilt(value: Any, change: Callable[[Any], Any]) -> Any:
    # The very same container when no item changed, so big payloads are not copied.
    if isinstance(value, dict):
        changed = {key: change(item) for key, item in value.items()}
        return value if all(changed[key] is item for key, item in value.items()) else changed
    if isinstance(value, list | tuple):
        items = [change(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


# --- Showing paths in messages ---------------------------------------------------------


def _segment(key: str | int) -> str:
    if isinstance(key, str) and key.isidentifier():
        return f".{key}"
    return f"[{key!r}]"


def show_path(root: str, path: Path) -> str:
    """`S.data.patients[0]` style text for a path from `root`."""
    return root + "".join(_segment(key) for key in path)


class StateKeyError(KeyError, AttributeError):
    """A key or index that the state does not have; the message names the path, and the
    code and details (see workers.runtime.errors) say what was missing for a plain sentence."""

    def __init__(self, message: str, code: str = "job_error", **details: object):
        super().__init__(message)
        self.message = message
        tag(self, code, **details)

    def __str__(self) -> str:
        return self.message


def _missing_key(path: Path, key: str | int, raw: dict) -> StateKeyError:
    keys = [str(k) for k in raw]
    shown = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
    listing = f"keys: {shown}" if keys else "it is empty"
    where = show_path("state", path)
    return StateKeyError(
        f"{show_path('S', (*path, key))}: no key {key!r} in {where} ({listing})",
        "missing_key",
        path=show_path("S", (*path, key)),
        key=str(key),
        where=show_path("S", path),
        available=keys[:12],
        more=len(keys) > 12,
    )


def _missing_index(path: Path, index: object, raw: list) -> StateKeyError:
    size = f"has {len(raw)} item(s)" if raw else "is an empty list"
    return StateKeyError(
        f"{show_path('S', path)}[{index!r}]: {show_path('state', path)} {size}",
        "missing_index",
        path=show_path("S", path),
        index=index if isinstance(index, int) else str(index),
        size=len(raw),
    )


# --- Views: the state as job code reads it through S ------------------------------------


def view(value: Any, path: Path = ()) -> Any:
    """A read-only view of `value` (dicts and lists are wrapped; other values are themselves)."""
    if isinstance(value, dict):
        return StateDict(value, path)
    if isinstance(value, list):
        return StateList(value, path)
    return value


# Python itself calls these on dict subclasses (json.dumps calls items(), `**` calls keys()),
# so they stay methods even when the data has a key of that name.
_DICT_METHODS = frozenset({"keys", "items", "values", "get"})


class StateDict(dict):
    """A dict from the state whose keys also read as attributes: `S.data.name`.

    Keys win over dict methods, except `keys`, `items`, `values` and `get`: a key with one of
    those names is read as `S.data["items"]`. It is a real dict (a shallow copy), so
    json.dumps, `**` and isinstance work.
    """

    __slots__ = ("_path", "_raw")

    def __init__(self, raw: dict, path: Path = ()):
        super().__init__(raw)
        self._raw = raw
        self._path = path

    def __getattribute__(self, name: str) -> Any:
        if name[:1] != "_" and dict.__contains__(self, name):
            if name in _DICT_METHODS:
                return _ShadowedKey(object.__getattribute__(self, name), self._path, name)
            return view(dict.__getitem__(self, name), (*self._path, name))
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(
                f"{show_path('S', self._path)}.{name}: names starting with _ are not read as "
                f"keys; write {show_path('S', self._path)}[{name!r}]"
            )
        raise _missing_key(self._path, name, self._raw)

    def __getitem__(self, key: Any) -> Any:
        if not dict.__contains__(self, key):
            raise _missing_key(self._path, key, self._raw)
        return view(dict.__getitem__(self, key), (*self._path, key))

    def get(self, key: Any, default: Any = None) -> Any:
        """The (viewed) value of `key`, or `default`."""
        return self[key] if dict.__contains__(self, key) else default

    def values(self) -> list[Any]:  # type: ignore[override]
        """The viewed values."""
        return [self[key] for key in dict.keys(self)]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """The (key, viewed value) pairs."""
        return [(key, self[key]) for key in dict.keys(self)]


class _ShadowedKey:
    """`S.data.items` when the data has an `items` key: the method, with a hint if used as data."""

    __slots__ = ("_method", "_name", "_path")

    def __init__(self, method: Callable[..., Any], path: Path, name: str):
        self._method, self._path, self._name = method, path, name

    def __call__(self, *args: Any) -> Any:
        return self._method(*args)

    def _hint(self) -> StateKeyError:
        where = show_path("S", self._path)
        return StateKeyError(
            f"{where}.{self._name} is the dict method; for the key {self._name!r} write "
            f"{where}[{self._name!r}]"
        )

    def __getitem__(self, key: Any) -> Any:
        raise self._hint()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._hint()

    def __iter__(self) -> Iterator[Any]:
        raise self._hint()


class StateList(list):
    """A list from the state whose items are views too: `S.data.patients[0].id`."""

    __slots__ = ("_path", "_raw")

    def __init__(self, raw: list, path: Path = ()):
        super().__init__(raw)
        self._raw = raw
        self._path = path

    def __getattr__(self, name: str) -> Any:
        where = show_path("S", self._path)
        raise StateKeyError(
            f"{where}.{name}: {show_path('state', self._path)} is a list, not an object; "
            f"pick an item ({where}[0].{name}) or go through it with each(...)",
            "not_an_object",
            path=where,
            key=name,
            got="list",
        )

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return StateList(self._raw[index], self._path)
        if not isinstance(index, int):
            where = show_path("S", self._path)
            raise StateKeyError(
                f"{where}[{index!r}]: {show_path('state', self._path)} is a list; "
                f"use a number ({where}[0])",
                "not_an_object",
                path=where,
                key=str(index),
                got="list",
            )
        try:
            value = list.__getitem__(self, index)
        except IndexError:
            raise _missing_index(self._path, index, self._raw) from None
        position = index if index >= 0 else len(self._raw) + index
        return view(value, (*self._path, position))

    def __iter__(self) -> Iterator[Any]:
        for position, value in enumerate(list.__iter__(self)):
            yield view(value, (*self._path, position))


# --- S from Python: a lazy path --------------------------------------------------------


class LazyPath:
    """`S`, `S.data`, `S.data["items"][0]`: a callable that reads that path from a state."""

    __slots__ = ("_path",)

    def __init__(self, path: Path = ()):
        self._path = path

    def __getattr__(self, name: str) -> LazyPath:
        if name.startswith("_"):
            raise AttributeError(name)
        return LazyPath((*self._path, name))

    def __getitem__(self, key: str | int) -> LazyPath:
        return LazyPath((*self._path, key))

    def __call__(self, state: dict) -> Any:
        current = view(state)
        for depth, key in enumerate(self._path):
            if not isinstance(current, StateDict | StateList):
                where = show_path("state", self._path[:depth])
                got = type(current).__name__
                raise StateKeyError(
                    f"{self!r}: {where} is {got}, not an object",
                    "not_an_object",
                    path=show_path("S", self._path[:depth]),
                    key=str(key),
                    got=got,
                )
            current = current[key]
        return unwrap(current)

    def __repr__(self) -> str:
        return show_path("S", self._path)


S = LazyPath()


class LazyArgument:
    """An argument the compiler wrapped because it mentions S: `body(view of state)`, unwrapped."""

    __slots__ = ("_body", "source")

    def __init__(self, body: Callable[[Any], Any], source: str = ""):
        self._body = body
        self.source = source

    def __call__(self, state: dict) -> Any:
        return unwrap(self._body(view(state)))

    def __repr__(self) -> str:
        return f"<lazy {self.source or 'argument'}>"
