"""Versioned model checkpoints under ``models_dir``: ``v0001/``, ``v0002/`` … and a ``latest`` file.

A version folder holds ``model.pt`` (weights only, loadable with ``weights_only=True``) and
``metadata.json`` (normalization statistics, feature list, config, data window, code version,
metrics). Versions are never deleted or overwritten: each save takes the next number, written to a
temporary folder and renamed into place so a reader never sees half a checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.model import WalletModel
from hypertrack_pipeline.ml.normalization import Normalizer
from hypertrack_pipeline.ml.registry import LATEST_FILE, latest_version, list_versions


@dataclass
class Checkpoint:
    """A loaded checkpoint: model in eval mode on CPU, its normalizer and its metadata."""

    version: str
    path: Path
    model: WalletModel
    normalizer: Normalizer
    feature_names: tuple[str, ...]
    metadata: dict[str, Any]


def code_version() -> str:
    """Package version plus the git commit when the code runs from a checkout ("0.1.0+abc1234")."""
    try:
        from importlib.metadata import version

        pkg = version("hypertrack")
    except Exception:
        pkg = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{pkg}+{commit}" if commit else pkg


def save_checkpoint(
    models_dir: Path | str,
    model: WalletModel,
    normalizer: Normalizer,
    metadata: dict[str, Any],
    feature_names: tuple[str, ...] = FEATURE_NAMES,
) -> tuple[str, Path]:
    """Write the next version and point ``latest`` at it; returns (version, folder)."""
    root = Path(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    versions = list_versions(root)
    number = int(versions[-1][1:]) + 1 if versions else 1
    meta = {
        **metadata,
        "feature_names": list(feature_names),
        "normalization": {"transform": "signed_log1p+zscore", **normalizer.to_dict()},
        "architecture": {"n_features": model.n_features, "influence_scale": float(model.influence_scale)},
        "code_version": metadata.get("code_version") or code_version(),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-ckpt-", dir=root))
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
    while True:  # another writer may have taken the number meanwhile: take the next one
        version = f"v{number:04d}"
        meta["version"] = version
        text = json.dumps(meta, indent=2, sort_keys=True, default=_json_default)
        (tmp / "metadata.json").write_text(text)
        try:
            os.rename(tmp, root / version)
            break
        except OSError:
            if not (root / version).exists():
                raise
            number += 1
    pointer_tmp = root / f".{LATEST_FILE}.tmp"
    pointer_tmp.write_text(version + "\n")
    os.replace(pointer_tmp, root / LATEST_FILE)
    return version, root / version


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def load_checkpoint(models_dir: Path | str, version: str | None = None) -> Checkpoint:
    """Load ``version`` (default: the ``latest`` one); unknown versions are a user error."""
    root = Path(models_dir)
    name = version or latest_version(root)
    if name is None:
        raise UserError(f"no trained model in {root} (train one first)")
    folder = root / name
    if not (folder / "model.pt").is_file():
        known = ", ".join(list_versions(root)) or "none"
        raise UserError(f"model version {name!r} not found in {root} (available: {known})")
    meta = json.loads((folder / "metadata.json").read_text())
    arch = meta["architecture"]
    model = WalletModel(n_features=int(arch["n_features"]))
    model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    model.eval()
    norm = Normalizer.from_dict(meta["normalization"])
    return Checkpoint(
        version=name,
        path=folder,
        model=model,
        normalizer=norm,
        feature_names=tuple(meta["feature_names"]),
        metadata=meta,
    )
