"""The parent of several worker processes: starts them, restarts one that dies, and on SIGTERM or SIGINT stops
them all (each finishes its requests in flight: uvicorn's graceful shutdown).

Shared by the two ways ``explain serve --workers N`` spreads connections (``_handoff``: the parent accepts and
hands each connection to the least-loaded worker; ``_reuseport``: the kernel hashes it to a worker's socket);
they differ only in what the parent does between two looks at its workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from multiprocessing.process import BaseProcess

__all__ = ["bind", "spawn_context", "supervise"]


def spawn_context() -> multiprocessing.context.SpawnContext:
    return multiprocessing.get_context("spawn")


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening TCP socket on ``host:port`` (a port in use raises here, before any worker starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def supervise(workers: int, start: Callable[[int], BaseProcess], wait: Callable[[float], None]) -> None:
    """Keep ``workers`` processes (``start(i)`` makes worker ``i``) alive until SIGTERM or SIGINT, calling
    ``wait(seconds)`` between two looks at them; then stop them all and return."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes = [start(i) for i in range(workers)]
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    processes[i] = start(i)  # a worker that died is replaced; the others kept serving
            wait(0.5)
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(15)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
