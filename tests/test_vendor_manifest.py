"""app/static/vendor/manifest.json matches the vendored folders, and templates load only them."""

from __future__ import annotations

import json
import re
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
VENDOR = APP / "static" / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())


def test_every_folder_is_in_the_manifest_at_its_version():
    assert sorted(MANIFEST) == sorted(p.name for p in VENDOR.iterdir() if p.is_dir())
    for folder, package in MANIFEST.items():
        assert package["npm"], folder
        assert folder.rsplit("-", 1)[1] == package["version"], folder


def test_the_manifest_lists_exactly_the_files_on_disk():
    for folder, package in MANIFEST.items():
        root = VENDOR / folder
        on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        assert sorted(package["files"]) == on_disk, folder


def vendor_references() -> list[tuple[str, str]]:
    """(template, path under vendor/) for every vendored file or folder a template names.

    Paths are written out (`'vendor/htmx-2.0.11/htmx.min.js'`) or joined to a variable
    holding the prefix (`{% set v = 'vendor/' %}` ... `v ~ 'lodash-4.17.21/lodash.min.js'`).
    """
    found = []
    for template in sorted((APP / "templates").rglob("*.html")):
        text = template.read_text()
        paths = re.findall(r"vendor/([^'\"\s)}]+)", text)
        for var in re.findall(r"set\s+(\w+)\s*=\s*['\"]vendor/['\"]", text):
            paths += re.findall(rf"\b{var}\s*~\s*['\"]([^'\"]+)['\"]", text)
        found += [(template.relative_to(APP).as_posix(), path) for path in paths]
    return found


def test_templates_load_vendor_files_only_from_the_manifest():
    references = vendor_references()
    assert any(path.startswith("lodash-") for _, path in references)  # the `v ~` form is seen
    outside = []
    for template, path in references:
        folder, _, file = path.partition("/")
        if folder not in MANIFEST or (file and file not in MANIFEST[folder]["files"]):
            outside.append(f"{template}: vendor/{path}")
    assert not outside
