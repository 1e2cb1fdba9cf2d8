"""`support-agent serve` as a real process for tests: started with the given arguments (the scripted
model, no LLM), waited for, stopped with its whole process group; and keep-alive clients pinned to
different worker processes (each connection stays with the worker that accepted it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from agent_harness import free_port

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`support-agent serve ARGS` on a free port (tests/ importable, for scripted step functions);
    yields its base URL."""
    port = free_port()
    pythonpath = os.pathsep.join([str(TESTS), str(ROOT), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "serve", "--port", str(port), "--log-level", "warning", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": pythonpath, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # waiting for start-up, not measuring time
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + proc.stdout.read1().decode(errors="replace"))
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def clients_on_two_workers(base: str) -> dict[int, httpx.Client]:
    """Keep-alive connections until two of them are held by different worker processes."""
    found: dict[int, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(60):
        client = httpx.Client(base_url=base, timeout=30)
        worker = client.get("/health").json()["worker"]
        if worker in found:
            spare.append(client)
        else:
            found[worker] = client
        if len(found) == 2:
            break
    for client in spare:
        client.close()
    assert len(found) == 2, "both workers should accept connections"
    return found


def wait_until(condition, what: str, seconds: float = 30) -> None:
    """Poll `condition()` until it is true (waiting for another process, not measuring time)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
