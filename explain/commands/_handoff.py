"""Worker processes fed by one acceptor: the parent accepts every connection and hands it to the worker with
the fewest open connections (``explain serve --workers N``, ``--balance least-connections``, the default).

A keep-alive connection stays on the worker that took it, so how connections are split is how the load is
split. uvicorn's shared socket lets whichever worker wakes first take them all (measured: 8 clients, one
worker at 100 % of a core, the other idle); ``SO_REUSEPORT`` hashes each to a worker, and 8 connections split
6:2 or worse about 29 % of the time (measured 1.5-1.6x more busy time on one worker). Here the parent keeps
the count: a connection goes to the worker with the fewest open (ties in turn), so 8 clients split 4:4 every
time, and a worker whose clients left gets the next ones.

The descriptor travels over a Unix socket pair (``SCM_RIGHTS``); the worker serves it with uvicorn's own
HTTP protocol on its event loop (``loop.connect_accepted_socket``) and counts the connections it has closed
in shared memory, which only it writes (open = handed - closed: no lock). The parent does nothing per
request, one ``accept`` and one ``sendmsg`` per connection.
"""

from __future__ import annotations

import asyncio
import itertools
import selectors
import socket
from collections.abc import Callable

import uvicorn

from explain.commands._workers import bind, spawn_context, supervise

__all__ = ["serve_handoff"]

_MAX_FDS = 64  # descriptors taken from one message at most (the parent sends one per message)


def serve_handoff(host: str, port: int, workers: int, log_level: str, options: dict | None = None) -> None:
    """Run ``workers`` uvicorn processes fed by this process's acceptor; return when stopped.

    ``options`` are further ``uvicorn.Config`` keywords, the same as the single-socket path's."""
    listener = bind(host, port)
    listener.setblocking(False)
    context = spawn_context()
    closed = context.RawArray("q", workers)  # connections each worker has closed; worker i alone writes [i]
    handed = [0] * workers
    channels: list[socket.socket | None] = [None] * workers
    turn = itertools.count()

    def start(index: int):  # noqa: ANN202 - a multiprocessing Process
        if channels[index] is not None:
            channels[index].close()  # the dead worker's end: its connections died with it
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        handed[index], closed[index] = 0, 0
        process = context.Process(target=_worker, args=(index, theirs, closed, log_level, dict(options or {})),
                                  name="explain-worker")
        process.start()
        theirs.close()
        ours.setblocking(False)
        channels[index] = ours
        return process

    def hand(conn: socket.socket) -> None:
        first = next(turn) % workers
        order = sorted(range(workers), key=lambda i: (handed[i] - closed[i], (i - first) % workers))
        for index in order:
            try:
                socket.send_fds(channels[index], [b"c"], [conn.fileno()])
            except OSError:  # that worker is gone or not reading: the next one
                continue
            handed[index] += 1
            return
        # no worker could take it (all restarting): the client sees the connection close and retries

    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)

    def wait(seconds: float) -> None:
        if not selector.select(seconds):
            return
        while True:  # every connection waiting now
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # the client left before it was accepted (ECONNABORTED), or no descriptors left
                return
            with conn:
                hand(conn)

    try:
        supervise(workers, start, wait)
    finally:
        selector.close()
        listener.close()
        for channel in channels:
            if channel is not None:
                channel.close()


def _worker(index: int, channel: socket.socket, closed, log_level: str, options: dict) -> None:  # noqa: ANN001
    config = uvicorn.Config("api.main:create_app", factory=True, log_level=log_level, timeout_graceful_shutdown=10,
                            **options)

    def count_closed() -> None:
        closed[index] += 1

    HandedServer(config, channel, count_closed).run()


class HandedServer(uvicorn.Server):
    """uvicorn's server, listening on no socket of its own: it serves the connections the parent sends."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket, on_close: Callable[[], None]) -> None:
        super().__init__(config)
        self._channel, self._on_close = channel, on_close
        self._starting: set[asyncio.Task] = set()  # connections being set up (a task needs a reference)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan, state; no listener
        loop = asyncio.get_running_loop()
        self._channel.setblocking(False)
        loop.add_reader(self._channel.fileno(), self._on_handed, loop)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stop_receiving(asyncio.get_running_loop())
        await super().shutdown(sockets=sockets)

    def _stop_receiving(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._channel.fileno() >= 0:
            loop.remove_reader(self._channel.fileno())
            self._channel.close()

    def _on_handed(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(self._channel, 1, _MAX_FDS)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the parent is gone: finish what is in flight and stop
                self._stop_receiving(loop)
                self.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(self._take(loop, socket.socket(fileno=fd)))
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)

    async def _take(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        sock.setblocking(False)
        try:
            await loop.connect_accepted_socket(self._new_protocol, sock)
        except OSError:  # the client left in between
            sock.close()
            self._on_close()

    def _new_protocol(self) -> asyncio.Protocol:
        protocol = self.config.http_protocol_class(config=self.config, server_state=self.server_state,
                                                   app_state=self.lifespan.state)
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            self._on_close()
            lost(exc)

        protocol.connection_lost = connection_lost
        return protocol
