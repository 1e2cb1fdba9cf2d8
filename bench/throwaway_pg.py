"""A throwaway PostgreSQL server for the benchmarks (as tests/pg_harness.py gives the tests one):
`initdb` and `pg_ctl` in a temporary folder, on a free loopback port, through
tests/pg_ctl_unprivileged.sh (PostgreSQL refuses to run as root). Stopped and removed at exit.

    with throwaway_postgres() as server:        # "postgresql://postgres@127.0.0.1:PORT"
        url = new_database(server)              # an empty database on it
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg

PG_CTL = str(Path(__file__).resolve().parents[1] / "tests" / "pg_ctl_unprivileged.sh")


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    data, log = folder / "data", folder / "server.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([PG_CTL, "initdb", "-D", str(data), "-s", "-o", "-U postgres -A trust"], check=True)
    subprocess.run([PG_CTL, "start", "-D", str(data), "-l", str(log), "-w", "-s",
                    "-o", f"-p {port} -h 127.0.0.1 -k {data} -c max_connections=200"], check=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([PG_CTL, "stop", "-D", str(data), "-m", "fast", "-s"], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def new_database(server: str) -> str:
    """The URL of a new, empty database on the server."""
    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"
