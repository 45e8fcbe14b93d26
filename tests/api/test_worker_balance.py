"""``explain serve --workers 2`` spreads keep-alive connections evenly over its workers, and keeps doing so.

Which worker holds a connection is read from the kernel, not from the service: each worker process's socket
descriptors (``/proc/PID/fd``) matched to the TCP table (``/proc/net/tcp``), so a connection is counted where
it really lives.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from liveserver import server_process

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")]

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def _workers(parent: int) -> list[int]:
    """The server's worker processes: its children started by multiprocessing's spawn."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _client_ports_by_worker(workers: list[int], server_port: int) -> dict[int, set[int]]:
    """For each worker, the client ports of the established connections to ``server_port`` it holds."""
    peers = {}  # socket inode -> client port, for established server-side sockets of server_port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == server_port:
                peers[inode] = int(remote.rsplit(":", 1)[1], 16)
    held = {}
    for pid in workers:
        ports = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in peers:
                ports.add(peers[target[8:-1]])
        held[pid] = ports
    return held


def _connect(port: int) -> socket.socket:
    """A keep-alive connection that has been answered once (so a worker has it, not the acceptor)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(REQUEST)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), answer
    return sock


def _split(workers: list[int], port: int, clients: list[socket.socket]) -> dict[int, set[int]]:
    mine = {c.getsockname()[1] for c in clients}
    deadline = time.monotonic() + 10
    while True:  # a connection just closed by a client may take a moment to leave its worker
        held = {pid: ports & mine for pid, ports in _client_ports_by_worker(workers, port).items()}
        if sum(len(p) for p in held.values()) == len(mine) or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    directory = tmp_path_factory.mktemp("balance")
    with server_process(f"sqlite:///{directory / 'b.db'}", workers=2, log_path=directory / "server.log") as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        while len(_workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield proc, port


def test_eight_keep_alive_clients_split_four_and_four_every_time(two_workers) -> None:
    proc, port = two_workers
    workers = _workers(proc.pid)
    assert len(workers) == 2
    for _ in range(3):
        clients = [_connect(port) for _ in range(8)]
        held = _split(workers, port, clients)
        assert sorted(len(p) for p in held.values()) == [4, 4], held
        for c in clients:
            c.close()


def test_the_worker_whose_clients_left_gets_the_next_ones(two_workers) -> None:
    proc, port = two_workers
    workers = _workers(proc.pid)
    clients = [_connect(port) for _ in range(8)]
    held = _split(workers, port, clients)
    emptied = workers[0]
    leaving = [c for c in clients if c.getsockname()[1] in held[emptied]]
    for c in leaving:
        c.close()
    staying = [c for c in clients if c not in leaving]
    assert _split(workers, port, staying)[emptied] == set()
    newcomers = [_connect(port) for _ in range(len(leaving))]
    held = _split(workers, port, staying + newcomers)
    assert held[emptied] == {c.getsockname()[1] for c in newcomers}
    for c in staying + newcomers:
        c.close()


def test_a_killed_worker_is_replaced_and_given_the_new_connections(two_workers) -> None:
    proc, port = two_workers
    survivor, victim = _workers(proc.pid)
    clients = [_connect(port) for _ in range(4)]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        workers = _workers(proc.pid)
        if len(workers) == 2 and victim not in workers:
            break
        assert time.monotonic() < deadline, workers
        time.sleep(0.1)
    replacement = next(pid for pid in workers if pid != survivor)
    # The survivor's connections still answer; the victim's died with it.
    alive = [c for c in clients if c.getsockname()[1] in _client_ports_by_worker([survivor], port)[survivor]]
    assert len(alive) == 2
    for c in clients:
        c.close()
    newcomers = []
    deadline = time.monotonic() + 60  # the replacement answers once its app has started
    while len(newcomers) < 4:
        try:
            newcomers.append(_connect(port))
        except (AssertionError, OSError):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    held = _split([survivor, replacement], port, newcomers)
    assert sorted(len(p) for p in held.values()) == [2, 2], held
    for c in newcomers:
        c.close()
