"""The lock files pin every dependency of pyproject.toml with hashes, and the venv matches them."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = PROJECT["dependencies"]
DEV = PROJECT["optional-dependencies"]["dev"]


def canonical(name: str) -> str:
    """The PEP 503 form of a package name, as the locks write it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def names(requirements: list[str]) -> list[str]:
    """Package names of pyproject.toml requirement strings (extras and bounds dropped)."""
    return [canonical(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requirements]


def read_lock(filename: str) -> dict[str, tuple[str, list[str]]]:
    """Package -> (pinned version, sha256 hashes) from a `uv pip compile` output file."""
    pins = {}
    for entry in re.split(r"\n(?=\S)", (ROOT / filename).read_text()):
        pin = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry)
        if pin:
            pins[canonical(pin[1])] = (pin[2], re.findall(r"--hash=sha256:[0-9a-f]{64}", entry))
    return pins


LOCK = read_lock("requirements.lock")
DEV_LOCK = read_lock("requirements-dev.lock")


@pytest.mark.parametrize(
    ("lock", "required"),
    [(LOCK, names(RUNTIME)), (DEV_LOCK, names(RUNTIME + DEV))],
    ids=["requirements.lock", "requirements-dev.lock"],
)
def test_every_dependency_is_pinned_with_hashes(lock, required):
    unpinned = [name for name in required if name not in lock or not lock[name][1]]
    assert not unpinned, f"not pinned with hashes: {unpinned}; run `make lock`"


def test_dev_lock_keeps_the_runtime_versions():
    differ = {n: (v, DEV_LOCK.get(n, ("missing",))[0]) for n, (v, _) in LOCK.items()}
    assert not {n: vs for n, vs in differ.items() if vs[0] != vs[1]}


def test_installed_versions_are_the_locked_ones():
    locked = {name: DEV_LOCK[name][0] for name in names(RUNTIME + DEV) if name in DEV_LOCK}
    wrong = {
        name: f"{version(name)} installed, {pin} locked"
        for name, pin in locked.items()
        if version(name) != pin
    }
    assert not wrong, f"{wrong}: run `make install-dev`"
