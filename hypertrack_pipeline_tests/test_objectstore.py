"""objectstore on a local folder and on a real local S3 endpoint (moto's server): the same calls write
whole Parquet files that DuckDB reads back through the registered fsspec filesystem, list, round-trip
bytes and remove; a store that cannot be used is one line, not a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from hypertrack_pipeline import objectstore
from hypertrack_pipeline.errors import UserError

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

from hypertrack_pipeline_tests.archive.s3server import s3_server  # noqa: E402

BUCKET = "hypertrack-test"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and no profile or endpoint from the developer's environment."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                 "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    with s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A location to work in: a temp folder, or a fresh prefix in a bucket of the local S3 server."""
    if request.param == "local":
        return str(tmp_path / "store")
    import boto3

    server = request.getfixturevalue("s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
    client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=BUCKET)
    return f"s3://{BUCKET}/{tmp_path.name}"


def _table(n: int, offset: int = 0) -> pa.Table:
    return pa.table({"wallet": [f"0x{i:040x}" for i in range(offset, offset + n)],
                     "pnl": [float(i) for i in range(offset, offset + n)]})


def test_is_remote_and_join() -> None:
    assert objectstore.is_remote("s3://b/k") and not objectstore.is_remote("/tmp/x")
    assert not objectstore.is_remote(Path("data/raw"))
    assert objectstore.join("s3://b/p/", "date=2025-08-01", "/part.parquet") == "s3://b/p/date=2025-08-01/part.parquet"
    assert objectstore.join(Path("/d"), "x") == "/d/x"


def test_parquet_written_here_is_read_by_duckdb_through_attach(root: str) -> None:
    for hour in range(3):
        objectstore.write_parquet(_table(10, 10 * hour), objectstore.join(root, f"hour={hour}", "part.parquet"))
    con = duckdb.connect()
    objectstore.attach(con, root)
    objectstore.attach(con, root)  # idempotent on one connection
    got = con.execute(f"SELECT count(*), sum(pnl), count(DISTINCT hour) FROM "
                      f"read_parquet('{root}/hour=*/*.parquet', hive_partitioning = true)").fetchone()
    assert got == (30, float(sum(range(30))), 3)
    files = [r[0] for r in con.execute(f"SELECT file FROM glob('{root}/*/*.parquet') ORDER BY file").fetchall()]
    assert files == objectstore.glob(f"{root}/*/*.parquet")


def test_a_rewrite_replaces_the_file_whole(root: str) -> None:
    url = objectstore.join(root, "p.parquet")
    objectstore.write_parquet(_table(100), url)
    objectstore.write_parquet(_table(5, 7), url)
    con = duckdb.connect()
    objectstore.attach(con, url)
    assert con.execute(f"SELECT count(*), min(pnl) FROM read_parquet('{url}')").fetchone() == (5, 7.0)


def test_copy_parquet_writes_a_query_and_a_failing_query_leaves_the_old_file(root: str) -> None:
    url = objectstore.join(root, "partials", "q.parquet")
    con = duckdb.connect()
    objectstore.attach(con, url)
    objectstore.copy_parquet(con, "SELECT range AS i FROM range(1000)", url, options="COMPRESSION zstd")
    assert con.execute(f"SELECT count(*), max(i) FROM read_parquet('{url}')").fetchone() == (1000, 999)
    with pytest.raises(duckdb.Error, match="boom"):
        objectstore.copy_parquet(con, "SELECT CASE WHEN range < 500000 THEN range ELSE error('boom') END AS i "
                                      "FROM range(1000000)", url)
    assert con.execute(f"SELECT count(*) FROM read_parquet('{url}')").fetchone() == (1000,)
    assert objectstore.list_files(objectstore.join(root, "partials")) == [url]  # no temp file left behind


def test_listing(root: str) -> None:
    assert objectstore.list_files(root) == [] and objectstore.glob(f"{root}/**/*.parquet") == []
    for name in ("a/1.parquet", "a/b/2.parquet", "c/3.json"):
        objectstore.write_bytes(objectstore.join(root, name), b"x")
    assert objectstore.list_files(root, "*.parquet") == [objectstore.join(root, "a/1.parquet"),
                                                         objectstore.join(root, "a/b/2.parquet")]
    assert len(objectstore.list_files(root)) == 3
    assert objectstore.glob(f"{root}/*/*") == [objectstore.join(root, "a/1.parquet"), objectstore.join(root, "c/3.json")]
    assert objectstore.glob(f"{root}/**/*.parquet") == objectstore.list_files(root, "*.parquet")


def test_bytes_round_trip_and_remove(root: str) -> None:
    url = objectstore.join(root, "state", "cursor.json")
    with pytest.raises(FileNotFoundError):
        objectstore.read_bytes(url)
    objectstore.write_bytes(url, b'{"hour": 1}')
    objectstore.write_bytes(url, b'{"hour": 2}')
    assert objectstore.read_bytes(url) == b'{"hour": 2}' and objectstore.exists(url)
    objectstore.write_bytes(objectstore.join(root, "state", "other.json"), b"{}")
    objectstore.remove(url, recursive=False)
    assert not objectstore.exists(url) and len(objectstore.list_files(root)) == 1
    objectstore.remove(objectstore.join(root, "state"))
    assert objectstore.list_files(root) == []
    objectstore.remove(objectstore.join(root, "never-there"))  # nothing there is not an error


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert text and "\n" not in text and exc.value.__cause__ is None and exc.value.__suppress_context__
    return text


def test_without_s3fs_the_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs now raises ImportError
    with pytest.raises(UserError) as exc:
        objectstore.filesystem("s3://bucket/x")
    assert "s3fs" in _one_line(exc)
    with pytest.raises(UserError):
        objectstore.attach(duckdb.connect(), "s3://bucket/x")
    objectstore.attach(duckdb.connect(), "/a/local/path")  # local paths never need it


def test_an_unreachable_endpoint_is_one_line(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    for call in (lambda: objectstore.list_files("s3://bucket/p"), lambda: objectstore.read_bytes("s3://bucket/k"),
                 lambda: objectstore.write_bytes("s3://bucket/k", b"x"),
                 lambda: objectstore.write_parquet(_table(1), "s3://bucket/k.parquet")):
        with pytest.raises(UserError) as exc:
            call()
        assert f"127.0.0.1:{port}" in _one_line(exc) and "cannot be reached" in str(exc.value)


def test_access_denied_is_one_line(aws_env: None, s3, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.url)
    boto3.client("s3", endpoint_url=s3.url, region_name="us-east-1").create_bucket(Bucket="hypertrack-denied")
    s3.requester_pays_buckets.add("hypertrack-denied")  # the server now refuses our GETs with 403
    try:
        with pytest.raises(UserError) as exc:
            objectstore.read_bytes("s3://hypertrack-denied/k")
        assert "access denied" in _one_line(exc) and "AWS_ACCESS_KEY_ID" in str(exc.value)
    finally:
        s3.requester_pays_buckets.discard("hypertrack-denied")
