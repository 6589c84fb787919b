"""The real PostgreSQL of services.py: it answers on 127.0.0.1 with the password it was given, refuses a
wrong one, and after the context exits its process and its folder are gone, also when the test failed."""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from hypertrack_pipeline_tests.services import PostgresServer, postgres, postgres_server  # noqa: F401

psycopg2 = pytest.importorskip("psycopg2")


def _gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        time.sleep(0.1)
    return False


def test_server_answers_and_is_gone_after_exit() -> None:
    with postgres_server() as pg:
        assert pg.host == "127.0.0.1" and pg.pid > 0 and pg.data_dir.is_dir()
        with contextlib.closing(psycopg2.connect(pg.dsn)) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1, current_database(), current_user, inet_server_port()")
            assert cur.fetchone() == (1, pg.db, pg.user, pg.port)
        with pytest.raises(psycopg2.OperationalError, match="password"):
            psycopg2.connect(host=pg.host, port=pg.port, user=pg.user, password="wrong", dbname=pg.db)
        with contextlib.closing(psycopg2.connect(pg.url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
    assert _gone(pg.pid), f"postmaster {pg.pid} still running"
    assert not pg.data_dir.parent.exists()


def test_stopped_and_deleted_when_the_test_body_fails() -> None:
    seen: list[PostgresServer] = []
    with pytest.raises(ZeroDivisionError):
        with postgres_server() as pg:
            seen.append(pg)
            1 / 0  # noqa: B018
    assert _gone(seen[0].pid) and not seen[0].data_dir.parent.exists()


def test_the_module_fixture(postgres: PostgresServer) -> None:  # noqa: F811
    with contextlib.closing(psycopg2.connect(postgres.dsn)) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1); SELECT count(*) FROM t")
        assert cur.fetchone()[0] >= 1
        conn.commit()
    env = postgres.dagster_env()
    assert env["DAGSTER_PG_PORT"] == str(postgres.port) and env["DAGSTER_PG_DB"] == postgres.db
