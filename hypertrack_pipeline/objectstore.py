"""One way to read and write files whether a location is a local folder or ``s3://bucket/prefix``.

Cluster mode keeps the landing zone and the per-partition outputs in object storage, where separate
worker processes write them and one merge step reads them all; the embedded mode keeps the same files in
a local folder. Code written against this module works on both. DuckDB reads ``s3://`` through an fsspec
filesystem registered on its connection (``attach``), not through its httpfs extension: extensions cannot
be downloaded everywhere this runs, and the fsspec route needs nothing but s3fs. Files are written whole
(``staged``): a crash or a failed query leaves the previous file or the new one, never a truncated one.

s3fs is imported only when an ``s3://`` location is used, so the local path works without it. The
endpoint is AWS unless ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` names another (MinIO, a test
server); credentials come from the standard AWS chain inside s3fs/botocore and are never read here.
Problems reaching the store (no s3fs, no credentials, access denied, unreachable endpoint) become one-line
``ObjectStoreError``; a missing object is a ``FileNotFoundError``, as for a local file.
"""

from __future__ import annotations

import fnmatch
import glob as globbing
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypertrack_pipeline.errors import UserError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

REMOTE_SCHEMES = ("s3://",)
ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class ObjectStoreError(UserError):
    """The store cannot be used as configured (missing s3fs, credentials, endpoint, permission)."""


def is_remote(url: str | Path) -> bool:
    """True for an object-store URL (``s3://…``); False for a local path."""
    return str(url).startswith(REMOTE_SCHEMES)


def join(base: str | Path, *parts: str) -> str:
    """``base`` with ``parts`` appended by ``/``: the same spelling for a folder and for a URL prefix."""
    out = str(base).rstrip("/")
    for part in parts:
        out = f"{out}/{str(part).strip('/')}"
    return out


def filesystem(url: str | Path) -> Any:
    """The fsspec filesystem that serves ``url``: local, or s3fs with the endpoint from the environment.

    s3fs caches instances by their arguments, so repeated calls are cheap; the listings cache is off
    because other processes (the partition workers) add objects this one must see."""
    if not is_remote(url):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()
    try:
        import s3fs
    except ImportError:
        raise ObjectStoreError(f"{_short(url)} needs s3fs: pip install 'hypertrack[cluster]' (or s3fs)") from None
    endpoint = next((os.environ[v] for v in ENDPOINT_VARS if os.environ.get(v)), None)
    return s3fs.S3FileSystem(endpoint_url=endpoint, use_listings_cache=False,
                             config_kwargs={"connect_timeout": 5, "retries": {"max_attempts": 2}})


def attach(con: duckdb.DuckDBPyConnection, url: str | Path) -> None:
    """Let ``con`` read ``url`` (``read_parquet``, ``glob``) through fsspec; a no-op for a local path and for
    a connection that already has the s3 filesystem."""
    if not is_remote(url):
        return
    fs = filesystem(url)
    if not con.filesystem_is_registered(fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol):
        con.register_filesystem(fs)


def exists(url: str | Path) -> bool:
    """Whether a file (or, remotely, an object or prefix) is at ``url``."""
    if not is_remote(url):
        return Path(url).exists()
    with _translated(url):
        return bool(filesystem(url).exists(_key(url)))


def glob(pattern: str | Path) -> list[str]:
    """Files matching a glob pattern (``*``, ``**``), sorted, spelled like the pattern (``s3://`` kept)."""
    if not is_remote(pattern):
        return sorted(p for p in globbing.glob(str(pattern), recursive=True) if os.path.isfile(p))
    with _translated(pattern):
        found = filesystem(pattern).glob(_key(pattern), detail=True)
    return sorted(f"s3://{k}" for k, info in found.items() if info.get("type") != "directory")


def list_files(prefix: str | Path, pattern: str = "*") -> list[str]:
    """Every file under ``prefix`` (recursively) whose name matches ``pattern``; [] when none, sorted."""
    if not is_remote(prefix):
        root = Path(prefix)
        return sorted(str(p) for p in root.rglob(pattern) if p.is_file()) if root.is_dir() else []
    with _translated(prefix):
        keys = filesystem(prefix).find(_key(prefix))
    return sorted(f"s3://{k}" for k in keys if fnmatch.fnmatch(k.rsplit("/", 1)[-1], pattern))


def stat_all(prefix: str) -> dict[str, str]:
    """Every object under an s3:// ``prefix`` → a version tag (size and ETag, else modification time):
    one listing, no object read (landing-zone markers in cluster mode)."""
    with _translated(prefix):
        try:
            found = filesystem(prefix).find(_key(prefix), detail=True)
        except FileNotFoundError:
            return {}
    return {f"s3://{k}": f"{info.get('size')}:{info.get('ETag') or info.get('LastModified')}"
            for k, info in found.items() if info.get("type") != "directory"}


def read_bytes(url: str | Path) -> bytes:
    """The whole file; ``FileNotFoundError`` when absent."""
    if not is_remote(url):
        return Path(url).read_bytes()
    with _translated(url):
        return filesystem(url).cat_file(_key(url))


def write_bytes(url: str | Path, data: bytes) -> str:
    """Replace the file with ``data`` (small state files); readers see the old file or the new one."""
    if is_remote(url):
        with _translated(url):
            filesystem(url).pipe_file(_key(url), data)  # one PUT: the object appears whole or not at all
        return str(url)
    with staged(url) as tmp:
        tmp.write_bytes(data)
    return str(url)


def write_parquet(table: pa.Table, url: str | Path, **options: Any) -> str:
    """Write ``table`` as one Parquet file at ``url``, replacing it whole (``options`` go to pyarrow)."""
    import pyarrow.parquet as pq

    with staged(url) as tmp:
        pq.write_table(table, tmp, **options)
    return str(url)


def copy_parquet(con: duckdb.DuckDBPyConnection, query: str, url: str | Path, options: str = "") -> str:
    """``COPY (query) TO url`` as one Parquet file, replacing it whole; ``options`` are extra COPY options
    (e.g. ``"COMPRESSION zstd"``).

    DuckDB can write ``s3://`` through the registered filesystem, but a query that fails half-way leaves
    a truncated object there; staging a local file first keeps the target whole or untouched."""
    extra = f", {options}" if options else ""
    with staged(url) as tmp:
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet{extra})")
    return str(url)


@contextmanager
def staged(url: str | Path) -> Iterator[Path]:
    """A local path to write a whole file at; on a clean exit it replaces ``url`` in one step, on an error it
    is deleted and ``url`` left as it was.

    Locally the temp file sits in the target's folder (same filesystem) and is renamed over it after an
    fsync; remotely it is uploaded, and S3 shows an object only once its upload completes (one PUT, or the
    last call of a multipart upload)."""
    if is_remote(url):
        fd, name = tempfile.mkstemp(prefix="hypertrack-", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
    else:
        path = Path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        if is_remote(url):
            with _translated(url):
                filesystem(url).put_file(str(tmp), _key(url))
        else:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, url)
    finally:
        tmp.unlink(missing_ok=True)


def remove(url: str | Path, recursive: bool = True) -> None:
    """Delete a file, or a folder / prefix with everything under it; nothing there is not an error."""
    if not is_remote(url):
        path = Path(url)
        if path.is_dir() and not path.is_symlink():
            if recursive:
                shutil.rmtree(path)
            else:
                path.rmdir()
        else:
            path.unlink(missing_ok=True)
        return
    with _translated(url):
        fs = filesystem(url)
        try:
            fs.rm(_key(url), recursive=recursive)
        except FileNotFoundError:
            pass


def _key(url: str | Path) -> str:
    """``bucket/key`` as s3fs spells it."""
    return str(url).split("://", 1)[1].rstrip("/")


def _short(url: str | Path) -> str:
    """The bucket part of a URL: enough to say where, without echoing a long (or signed) key."""
    return f"s3://{_key(url).split('/', 1)[0]}" if is_remote(url) else str(url)


@contextmanager
def _translated(url: str | Path) -> Iterator[None]:
    """Turn the ways a store can be unusable into one line; a missing object stays FileNotFoundError.

    botocore's and aiohttp's errors are not all OSErrors, so they are recognised by name, without
    importing either."""
    try:
        yield
    except (FileNotFoundError, ObjectStoreError):
        raise
    except PermissionError as exc:
        raise ObjectStoreError(f"{_short(url)}: access denied ({_first_line(exc)}); check the credentials "
                               "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket's policy") from None
    except Exception as exc:
        text = f"{type(exc).__name__} {exc}".lower()
        if "credentials" in text:
            raise ObjectStoreError(f"{_short(url)}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)") from None
        if any(w in text for w in ("connect", "endpoint", "timeout", "timed out", "resolve", "unreachable")):
            endpoint = next((os.environ[v] for v in ENDPOINT_VARS if os.environ.get(v)), "AWS")
            raise ObjectStoreError(f"{_short(url)} cannot be reached at {endpoint}: {type(exc).__name__}: "
                                   f"{_first_line(exc)}") from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else "no detail"
