"""Small state files (JSON cursors, logs, reports) written atomically: a crash leaves the previous file or
the new one, never half of one. Temp name in the same folder (same filesystem), fsync, then rename."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text_atomic(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` atomically; creates the folder. The temp name carries the pid, so two
    writers never share one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def write_json_atomic(path: Path, body: Any, indent: int | None = 1, sort_keys: bool = False) -> Path:
    return write_text_atomic(path, json.dumps(body, indent=indent, sort_keys=sort_keys))
