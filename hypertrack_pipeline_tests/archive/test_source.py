"""Archive sources: the bucket layout on a local mirror, format fallback, gaps, and S3 without s3fs."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hypertrack_pipeline.archive import parse
from hypertrack_pipeline.archive.source import (
    ArchiveSourceError,
    LocalArchive,
    S3Archive,
    archive_key,
    find_hour,
    iter_hours,
    open_archive,
)

pytest.importorskip("lz4.frame")

from hypertrack_pipeline.archive.synth import write_archive  # noqa: E402


def test_local_mirror_layout_listing_and_parse(tmp_path: Path) -> None:
    start = datetime(2025, 8, 1, 22, tzinfo=UTC)
    paths = write_archive(tmp_path, start, hours=3, fills_per_hour=400)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "node_fills_by_block/hourly/20250801/22.lz4", "node_fills_by_block/hourly/20250801/23.lz4",
        "node_fills_by_block/hourly/20250802/0.lz4"]
    archive = open_archive(tmp_path)
    assert archive.list_day(parse.BY_BLOCK, start) == [
        "node_fills_by_block/hourly/20250801/22.lz4", "node_fills_by_block/hourly/20250801/23.lz4"]
    hours = list(iter_hours(archive, start, datetime(2025, 8, 2, 2, tzinfo=UTC)))
    assert [f.key if f else None for _, f in hours] == [
        "node_fills_by_block/hourly/20250801/22.lz4", "node_fills_by_block/hourly/20250801/23.lz4",
        "node_fills_by_block/hourly/20250802/0.lz4", None]  # 01h is missing: a gap
    with archive.open(hours[0][1].key) as fh:
        t = parse.parse_lz4(fh)
    assert t.num_rows >= 400
    assert t["time"].to_numpy().min() < int(start.timestamp() * 1000)  # the file opens in the previous hour


def test_format_falls_back_to_what_exists(tmp_path: Path) -> None:
    hour = datetime(2025, 7, 27, 9, tzinfo=UTC)  # by date: node_fills_by_block; the mirror has node_fills
    write_archive(tmp_path, hour, hours=1, fills_per_hour=100, fmt=parse.FILLS)
    f = find_hour(LocalArchive(tmp_path), hour)
    assert f is not None and (f.fmt, f.key) == (parse.FILLS, "node_fills/hourly/20250727/9.lz4")
    assert archive_key(parse.TRADES, datetime(2025, 4, 1, 5)) == "node_trades/hourly/20250401/5.lz4"


def test_bad_local_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveSourceError, match="not found"):
        open_archive(tmp_path / "nope")


def test_s3_without_s3fs_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_s3fs(name: str, *args: object, **kwargs: object) -> object:
        if name == "s3fs":
            raise ImportError("No module named 's3fs'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_s3fs)
    with pytest.raises(ArchiveSourceError, match="pip install s3fs"):
        open_archive("s3://hl-mainnet-node-data")


class _FakeS3:
    """The few s3fs calls S3Archive makes, over a dict of keys."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        self.keys = keys

    def exists(self, path: str) -> bool:
        return path in self.keys

    def ls(self, prefix: str, detail: bool = False) -> list[str]:
        found = [k for k in self.keys if k.startswith(prefix + "/")]
        if not found:
            raise FileNotFoundError(prefix)
        return found

    def open(self, path: str, mode: str = "rb"):  # noqa: ANN201
        import io

        return io.BytesIO(self.keys[path])


def test_s3_archive_keys_and_listing() -> None:
    fs = _FakeS3({"hl-mainnet-node-data/node_fills/hourly/20250601/10.lz4": b"x",
                  "hl-mainnet-node-data/node_fills/hourly/20250601/9.lz4": b"y"})
    a = S3Archive("s3://hl-mainnet-node-data", fs=fs)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    assert a.list_day(parse.FILLS, day) == ["node_fills/hourly/20250601/9.lz4", "node_fills/hourly/20250601/10.lz4"]
    assert a.list_day(parse.BY_BLOCK, day) == []
    f = find_hour(a, datetime(2025, 6, 1, 9, tzinfo=UTC))
    assert f is not None and f.fmt == parse.FILLS
    assert a.open(f.key).read() == b"y"
    assert "s3://hl-mainnet-node-data" in repr(a)
