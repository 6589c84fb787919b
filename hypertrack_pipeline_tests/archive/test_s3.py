"""`hypertrack backfill --source s3://…` against a real local S3 endpoint (moto's server) that enforces
requester pays: the backfill sends the request-payer header, lands exactly what a local mirror lands,
and a request without the header (or without credentials) is one clear line, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.archive.backfill import backfill, parse_when
from hypertrack_pipeline.archive.source import ArchiveSourceError, LocalArchive, S3Archive
from hypertrack_pipeline.archive.synth import write_archive
from hypertrack_pipeline.cli import main as cli_main
from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.warehouse import load_hours

pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

from hypertrack_pipeline_tests.archive.s3server import s3_server  # noqa: E402

BUCKET = "hl-mainnet-node-data"
T0 = datetime(2025, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(k, raising=False)


def upload(url: str, root: Path) -> int:
    """Put a local mirror into the bucket and make the bucket requester-pays."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    files = sorted(p for p in root.rglob("*.lz4"))
    for p in files:
        s3.upload_file(str(p), BUCKET, p.relative_to(root).as_posix())
    s3.put_bucket_request_payment(Bucket=BUCKET, RequestPaymentConfiguration={"Payer": "Requester"})
    return len(files)


def _dump(raw: Path) -> tuple:
    con = duckdb.connect()
    load_hours(con, raw, closed_hours(raw))
    return (con.execute("SELECT * FROM exchange_fills ORDER BY coin, time_ms, tid, wallet, side, oid").fetchall(),
            con.execute("SELECT * FROM trades ORDER BY coin, time_ms, tid").fetchall())


def test_backfill_from_a_requester_pays_bucket_equals_the_local_mirror(tmp_path: Path, aws_env: None) -> None:
    mirror = tmp_path / "mirror"
    write_archive(mirror, T0, 4, fills_per_hour=1_500)
    end = parse_when("2025-08-01-02", end=True)
    with s3_server() as server:
        server.requester_pays_buckets.add(BUCKET)
        assert upload(server.url, mirror) == 4
        s3 = S3Archive(f"s3://{BUCKET}", endpoint_url=server.url)
        summary = backfill(tmp_path / "s3" / "raw", s3, T0, end, tmp_path / "s3.json", say=lambda _: None)
        assert summary.files_read == 4 and not summary.problems
        assert len(server.served) == 4 and not server.denied  # every object read once, every request paid
    backfill(tmp_path / "local" / "raw", LocalArchive(mirror), T0, end, tmp_path / "l.json", say=lambda _: None)
    assert _dump(tmp_path / "s3" / "raw") == _dump(tmp_path / "local" / "raw")


def test_without_the_request_payer_header_the_bucket_refuses_and_we_say_why(tmp_path: Path, aws_env: None,
                                                                          capsys: pytest.CaptureFixture) -> None:
    import s3fs

    mirror = tmp_path / "mirror"
    write_archive(mirror, T0, 1, fills_per_hour=100)
    with s3_server() as server:
        server.requester_pays_buckets.add(BUCKET)
        upload(server.url, mirror)
        unpaid = S3Archive(f"s3://{BUCKET}", fs=s3fs.S3FileSystem(endpoint_url=server.url))
        with pytest.raises(ArchiveSourceError, match="requester-pays"):
            backfill(tmp_path / "raw", unpaid, T0, T0, tmp_path / "s.json", say=lambda _: None)
        assert server.denied
        # the CLI pointed at the endpoint pays the request and lands the hour; no credential is written anywhere
        data = tmp_path / "data"
        args = ["backfill", "--source", f"s3://{BUCKET}", "--s3-endpoint", server.url, "--from", "2025-08-01-00",
                "--to", "2025-08-01-00", "--data-dir", str(data), "--quiet"]
        assert cli_main(args) == 0
        assert "backfilled" in capsys.readouterr().out
        assert "testing" not in str(sorted(p.read_bytes() for p in (data / "state").rglob("*") if p.is_file()))


def test_an_unreachable_endpoint_is_one_line(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # no retries: the error, not botocore's backoff, is under test
    archive = S3Archive(f"s3://{BUCKET}", endpoint_url="http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(ArchiveSourceError, match="cannot be reached: EndpointConnectionError"):
        archive.exists("node_fills_by_block/hourly/20250801/0.lz4")
