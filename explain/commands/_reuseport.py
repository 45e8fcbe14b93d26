"""Worker processes that each own a listening socket bound with ``SO_REUSEPORT``, so the kernel spreads
connections over them (``explain serve --balance reuseport``).

The kernel hashes each new connection to one of the sockets: with few keep-alive clients the split is often
uneven (8 connections split 6:2 or worse about 29 % of the time), and stays so for as long as the
connections live. ``_handoff`` (the default) balances them instead; this remains for hosts where passing
descriptors between processes is not wanted (Linux 3.9+; where the option is missing, ``explain serve``
falls back to uvicorn's workers).
"""

from __future__ import annotations

import socket
import time

from explain.commands._workers import bind, spawn_context, supervise

__all__ = ["available", "serve_reuseport"]


def available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _worker(host: str, port: int, log_level: str, options: dict) -> None:
    import uvicorn

    sock = bind(host, port, reuse_port=True)
    config = uvicorn.Config("api.main:create_app", factory=True, log_level=log_level, timeout_graceful_shutdown=10,
                            **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_reuseport(host: str, port: int, workers: int, log_level: str, options: dict | None = None) -> None:
    """Run ``workers`` uvicorn processes, each on its own ``SO_REUSEPORT`` socket; return when stopped.

    ``options`` are further ``uvicorn.Config`` keywords, the same as the single-socket path's."""
    bind(host, port, reuse_port=True).close()  # a port in use is reported now, before any worker starts
    context = spawn_context()

    def start(_index: int):  # noqa: ANN202 - a multiprocessing Process
        process = context.Process(target=_worker, args=(host, port, log_level, dict(options or {})),
                                  name="explain-worker")
        process.start()
        return process

    supervise(workers, start, time.sleep)
