"""Reading the model registry under ``models_dir`` without torch: versions, the ``latest`` pointer
and a version's metadata (for checks, the dashboard and the CLI, which only need the numbers)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

LATEST_FILE = "latest"
VERSION_RE = re.compile(r"^v(\d{4,})$")


def list_versions(models_dir: Path | str) -> list[str]:
    """Saved versions, oldest first."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    return sorted(found, key=lambda v: int(v[1:]))


def latest_version(models_dir: Path | str) -> str | None:
    """The version named by the ``latest`` file (falling back to the highest number)."""
    root = Path(models_dir)
    pointer = root / LATEST_FILE
    if pointer.is_file():
        name = pointer.read_text().strip()
        if (root / name).is_dir():
            return name
    versions = list_versions(root)
    return versions[-1] if versions else None


def latest_model_info(models_dir: Path | str, version: str | None = None) -> dict[str, Any] | None:
    """A version's metadata (default: latest) without the weights: version, created_at,
    code_version, config, data_window, metrics, history, feature_names …, plus ``path`` and
    ``versions`` (every saved version). None when no model was trained yet."""
    root = Path(models_dir)
    name = version or latest_version(root)
    if name is None or not (root / name / "metadata.json").is_file():
        return None
    meta = json.loads((root / name / "metadata.json").read_text())
    meta.pop("normalization", None)  # 72 numbers nobody reads from here
    return {**meta, "version": name, "path": str(root / name), "versions": list_versions(root)}
