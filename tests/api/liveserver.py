"""Running the service as a real process (``explain serve`` under uvicorn) for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(database_url: str, *, workers: int = 1, log_path: Path, timeout: float = 90) -> Iterator[str]:
    """Start ``explain serve`` in its own process group; yield its base URL once /readyz answers 200."""
    with server_process(database_url, workers=workers, log_path=log_path, timeout=timeout) as (url, _proc):
        yield url


@contextmanager
def server_process(database_url: str, *, workers: int = 1, log_path: Path, timeout: float = 90,
                   env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Like :func:`running_server`, and the process (leader of its own group), for tests that kill it."""
    port = free_port()
    # No failed-authentication throttle unless a test asks (the revocation test counts 16 refusals as 401s).
    env = {**os.environ, "EXPLAIN_DATABASE_URL": database_url, "EXPLAIN_BUNDLES": "demo", "PYTHONPATH": str(REPO),
           "EXPLAIN_AUTH_THROTTLE": "false", **(env or {})}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "explain.commands._cli_service", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: the server and its workers
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
