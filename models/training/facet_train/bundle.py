"""manifest.json of a facet-bundle/1 folder: writing it and keeping its file hashes true."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

FORMAT = "facet-bundle/1"
MANIFEST = "manifest.json"


class BundleError(ValueError):
    """A bundle folder that does not follow facet-bundle/1."""


def file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size}


def file_entries(bundle: Path) -> dict:
    """sha256 and size of every file in the bundle but the manifest."""
    return {p.name: file_entry(p) for p in sorted(bundle.iterdir()) if p.is_file() and p.name != MANIFEST}


def read_manifest(bundle: Path) -> dict:
    path = bundle / MANIFEST
    if not path.is_file():
        raise BundleError(f"{path}: not found (is {bundle} a model bundle?)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: format must be {FORMAT!r}, got {manifest.get('format')!r}")
    return manifest


def write_manifest(bundle: Path, manifest: dict) -> None:
    """Writes the manifest with `files` recomputed from what is in the folder now."""
    manifest = {**manifest, "files": file_entries(bundle)}
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")
