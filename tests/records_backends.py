"""The agent's records on each backend: a throwaway PostgreSQL server for the test session (Debian's
initdb / pg_ctl in a temporary folder, on a loopback port; as the `postgres` user when run as root),
and a fresh SQLite file or PostgreSQL database per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from agent_harness import free_port


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a running PostgreSQL server, stopped at the end of the session."""
    pg_ctl = shutil.which("pg_ctl") or "/usr/local/bin/pg_ctl"
    if not Path(pg_ctl).exists():
        pytest.fail("PostgreSQL's pg_ctl is needed (Debian: apt-get install postgresql)")
    bindir = Path(os.path.realpath(pg_ctl)).parent
    base = Path(tempfile.mkdtemp(prefix="agent-records-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    data = base / "data"
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                                 f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def fresh_postgres_db(server_url: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server_url}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def records_target(request, tmp_path) -> str:
    """Where a test's records go: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "records.db")
    return fresh_postgres_db(request.getfixturevalue("postgres_server"))
