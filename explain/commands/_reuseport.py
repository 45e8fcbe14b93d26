"""Worker processes that each own a listening socket bound with ``SO_REUSEPORT``, so the kernel spreads
connections over them.

With uvicorn's own ``--workers``, every worker accepts from one shared socket; keep-alive clients that all
connect at start tend to be accepted by whichever worker wakes first, and stay there: measured with 8
clients, one worker at 100 % of a core and the other idle. With ``SO_REUSEPORT`` each worker has its own
socket and the kernel hashes each new connection to one of them, so connections (and their requests) are
spread over the workers from the first one (Linux 3.9+; where the option is missing, ``explain serve``
falls back to uvicorn's workers).

The parent only supervises: it starts the workers, restarts one that dies, and on SIGTERM or SIGINT stops
them all (each finishes its requests in flight: uvicorn's graceful shutdown).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time

__all__ = ["available", "serve_reuseport"]


def available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, log_level: str, options: dict) -> None:
    import uvicorn

    sock = _bind(host, port)
    config = uvicorn.Config("api.main:create_app", factory=True, log_level=log_level, timeout_graceful_shutdown=10,
                            **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_reuseport(host: str, port: int, workers: int, log_level: str, options: dict | None = None) -> None:
    """Run ``workers`` uvicorn processes, each on its own ``SO_REUSEPORT`` socket; return when stopped.

    ``options`` are further ``uvicorn.Config`` keywords, the same as the single-socket path's."""
    # Bind once here first: a port in use is reported now, before any worker starts.
    _bind(host, port).close()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(host, port, log_level, dict(options or {})), name="explain-worker")
        process.start()
        return process

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    processes = [start() for _ in range(workers)]
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    processes[i] = start()  # a worker that died is replaced; the others kept serving
            time.sleep(0.5)
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(15)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
