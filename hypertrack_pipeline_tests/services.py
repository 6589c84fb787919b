"""Real servers for the tests: a PostgreSQL started from the system's binaries in a temp folder.

Cluster mode keeps Dagster's instance in PostgreSQL; a mock would not prove that the shipped dagster.yaml
works, so the tests run a real server: private data folder, 127.0.0.1 on a free port, its unix socket
inside the temp folder, password auth over TCP. ``initdb`` refuses to run as root, so as root the server
runs as the ``postgres`` user (``runuser``). Only what was started here is stopped and deleted, also when
the test fails. Tests skip when the binaries (or, as root, ``runuser`` and the user) are absent.

Use ``with postgres_server() as pg:`` or the module-scoped ``postgres`` fixture
(``from hypertrack_pipeline_tests.services import postgres  # noqa: F401``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")
PREFERRED_VERSION = "15"
USER = "hypertrack"
PASSWORD = "hypertrack-test"
DB = "hypertrack"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    db: str
    pid: int  # the postmaster's pid, to check that it is gone after the context exits
    data_dir: Path

    @property
    def dsn(self) -> str:
        """libpq keyword form, as psycopg2.connect takes it."""
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.db}"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.db}"

    def dagster_env(self) -> dict[str, str]:
        """The DAGSTER_PG_* variables deploy/dagster.yaml reads."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": self.db}


def _bin_dir() -> Path:
    """The preferred version's binaries, else the newest installed; skip when there are none."""
    preferred = PG_ROOT / PREFERRED_VERSION / "bin"
    if (preferred / "initdb").is_file():
        return preferred
    found = sorted((p for p in PG_ROOT.glob("*/bin") if (p / "initdb").is_file()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not found:
        pytest.skip(f"PostgreSQL server binaries not found under {PG_ROOT}")
    return found[-1]


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix that runs initdb/pg_ctl as a non-root user, and that user's uid/gid (None when
    we are not root and run them as ourselves)."""
    if os.geteuid() != 0:
        return [], None, None
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and runuser is absent: initdb cannot run as root")
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the server as")
    return [runuser, "-u", "postgres", "--"], entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


@contextmanager
def postgres_server(start_timeout_s: int = 60) -> Iterator[PostgresServer]:
    """A fresh PostgreSQL with database ``hypertrack`` owned by user ``hypertrack``; stopped and deleted
    on exit."""
    bins = _bin_dir()
    prefix, uid, gid = _as_server_user()
    # /tmp: short enough for the unix socket path limit, and traversable by the postgres user (a TMPDIR
    # under /root would not be)
    root = Path(tempfile.mkdtemp(prefix="hypertrack-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    started: list[int] = []  # the postmaster's pid once there is one, whatever fails after that
    try:
        yield _start(bins, prefix, uid, gid, root, start_timeout_s, started)
    finally:
        try:
            if started:
                _stop(prefix, bins, root / "data", started[0])
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _start(bins: Path, prefix: list[str], uid: int | None, gid: int | None, root: Path, timeout_s: int,
           started: list[int]) -> PostgresServer:
    data, log, pwfile = root / "data", root / "server.log", root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if uid is not None and gid is not None:
        for p in (root, pwfile):
            os.chown(p, uid, gid)
    try:
        _run([*prefix, str(bins / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"], "initdb")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        try:
            _run([*prefix, str(bins / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-o", options,
                  "-w", "-t", str(timeout_s)], "pg_ctl start")
        finally:
            pid = _postmaster_pid(data)
            if pid is not None:
                started.append(pid)
        _run([*prefix, str(bins / "createdb"), "-h", str(root), "-p", str(port), "-U", USER, DB], "createdb")
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        raise RuntimeError(f"{exc}\n--- server log ---\n{tail}") from None
    return PostgresServer("127.0.0.1", port, USER, PASSWORD, DB, started[0], data)


def _stop(prefix: list[str], bins: Path, data: Path, pid: int) -> None:
    """pg_ctl stop -m fast; if the server is still there after that, kill the postmaster we started."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run([*prefix, str(bins / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"],
                       capture_output=True, timeout=60)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL per test module (starting one takes a few seconds)."""
    with postgres_server() as server:
        yield server
