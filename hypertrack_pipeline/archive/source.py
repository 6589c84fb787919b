"""Where hourly node-archive files live: a local mirror or the requester-pays S3 bucket.

Both use the bucket's layout, ``<format>/hourly/YYYYMMDD/H.lz4`` (hour without leading zero), so a
mirror made with ``aws s3 sync s3://hl-mainnet-node-data DIR --request-payer requester`` is read the
same way. s3fs is imported only when an ``s3://`` location is opened, so the package imports (and the
local path works) without it. Credentials come from the standard AWS chain inside s3fs/botocore;
nothing here reads, stores or prints them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from hypertrack_pipeline.archive.parse import FORMATS, format_for_hour
from hypertrack_pipeline.errors import UserError

BUCKET = "hl-mainnet-node-data"


class ArchiveSourceError(UserError):
    """A user mistake about the archive location (bad path, missing s3fs): one clear line."""


def archive_key(fmt: str, hour: datetime) -> str:
    """The file's key relative to the archive root, e.g. ``node_fills_by_block/hourly/20250801/7.lz4``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown archive format {fmt!r}; one of {', '.join(FORMATS)}")
    return f"{fmt}/hourly/{hour:%Y%m%d}/{hour.hour}.lz4"


@dataclass(frozen=True)
class ArchiveFile:
    """One hourly file: its format, the node-clock hour it is filed under, and its key."""

    fmt: str
    hour: datetime  # UTC, whole hour (the node's clock: fills inside may belong to the previous hour)
    key: str


class Archive(Protocol):
    """What the backfill needs from a location: does a key exist, open it, list a day folder."""

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO: ...

    def list_day(self, fmt: str, day: datetime) -> list[str]: ...


class LocalArchive:
    """A mirror of the bucket on disk."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise ArchiveSourceError(f"archive directory not found: {self.root}")

    def __repr__(self) -> str:
        return f"LocalArchive({str(self.root)!r})"

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def open(self, key: str) -> BinaryIO:
        return open(self.root / key, "rb")

    def list_day(self, fmt: str, day: datetime) -> list[str]:
        d = self.root / fmt / "hourly" / f"{day:%Y%m%d}"
        if not d.is_dir():
            return []
        return sorted((f"{fmt}/hourly/{day:%Y%m%d}/{p.name}" for p in d.glob("*.lz4")), key=_hour_of_key)


class S3Archive:
    """``s3://bucket[/prefix]`` through s3fs with requester pays (the downloader pays the transfer).

    ``endpoint_url`` points at another S3-compatible server (a mirror, MinIO, a test server); by default
    the standard ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` variables, else AWS itself."""

    def __init__(self, url: str = f"s3://{BUCKET}", fs: Any = None, endpoint_url: str | None = None) -> None:
        self.base = url.removeprefix("s3://").strip("/")
        if not self.base:
            raise ArchiveSourceError(f"not an s3 location: {url!r}")
        if fs is None:
            try:
                import s3fs
            except ImportError:
                raise ArchiveSourceError("reading s3:// archives needs s3fs: pip install s3fs") from None
            endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            fs = s3fs.S3FileSystem(requester_pays=True, endpoint_url=endpoint_url or None)
        self.fs = fs

    def __repr__(self) -> str:
        return f"S3Archive('s3://{self.base}')"

    def exists(self, key: str) -> bool:
        try:
            return bool(self.fs.exists(f"{self.base}/{key}"))
        except PermissionError as exc:
            raise ArchiveSourceError(
                f"s3://{self.base}: access denied ({str(exc).splitlines()[0][:120]}); the bucket is requester-pays: "
                "it needs AWS credentials (standard chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, …) of an account "
                "that pays the transfer") from None
        except Exception as exc:  # botocore's errors are not OSErrors: name them without importing botocore
            if "credentials" in f"{type(exc).__name__} {exc}".lower():
                raise ArchiveSourceError(f"s3://{self.base}: no AWS credentials found (requester pays needs "
                                         "them: AWS_PROFILE, AWS_ACCESS_KEY_ID, …)") from None
            raise ArchiveSourceError(f"s3://{self.base} cannot be reached: {type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}") from None

    def open(self, key: str) -> BinaryIO:
        return self.fs.open(f"{self.base}/{key}", "rb")

    def list_day(self, fmt: str, day: datetime) -> list[str]:
        prefix = f"{self.base}/{fmt}/hourly/{day:%Y%m%d}"
        try:
            names = self.fs.ls(prefix, detail=False)
        except FileNotFoundError:
            return []
        n = len(self.base) + 1
        return sorted((p[n:] for p in names if p.endswith(".lz4")), key=_hour_of_key)


def open_archive(location: str | Path, endpoint_url: str | None = None) -> LocalArchive | S3Archive:
    """A local directory or an ``s3://`` URL (default bucket: ``s3://hl-mainnet-node-data``)."""
    if str(location).startswith("s3://"):
        return S3Archive(str(location), endpoint_url=endpoint_url)
    return LocalArchive(location)


def _hour_of_key(key: str) -> int:
    try:
        return int(key.rsplit("/", 1)[-1].split(".", 1)[0])
    except ValueError:
        return 99


def _utc_hour(t: datetime) -> datetime:
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


def find_hour(archive: Archive, hour: datetime) -> ArchiveFile | None:
    """The file for a node-clock hour: the format its date range says first, then any other that exists
    (the ranges' edges are hours apart from the published dates; the bucket is the truth)."""
    hour = _utc_hour(hour)
    expected = format_for_hour(hour)
    for fmt in (expected, *(f for f in FORMATS if f != expected)):
        key = archive_key(fmt, hour)
        if archive.exists(key):
            return ArchiveFile(fmt, hour, key)
    return None


def iter_hours(archive: Archive, start: datetime, end: datetime) -> Iterator[tuple[datetime, ArchiveFile | None]]:
    """Every hour in ``[start, end)`` with its file, or None where the archive has none (a gap to report)."""
    hour, end = _utc_hour(start), _utc_hour(end)
    while hour < end:
        yield hour, find_hour(archive, hour)
        hour += timedelta(hours=1)
