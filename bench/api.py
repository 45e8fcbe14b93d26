"""Benchmark ``POST /v1/decisions``: requests/s and p50/p99 latency at 16 concurrent clients.

Starts ``explain serve`` (uvicorn, the demo bundle, both locales) on a fresh store, drives it from one
asyncio process, and prints the figures beside the in-process cost of the same work (explain + reasons +
two notices), so the service's overhead (HTTP, validation, JSON, auth, the audit append) shows as a ratio.

    .venv/bin/python bench/api.py                       # SQLite file, 2 workers, 16 clients, 2000 requests
    .venv/bin/python bench/api.py --database-url postgresql://postgres@127.0.0.1/bench --workers 4

Target on 2 cores: p99 under 50 ms and at least 200 requests/s. This is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One decision is one row: thread fan-out inside it only costs. `explain serve` sets OMP_NUM_THREADS=1; the
# server's requests run on worker threads, where the numba kernels do not fan out either. Here the work runs
# on the main thread, where numba's parallel kernels would start a thread team per call (~3x slower for one
# row), so pin numba too, for a like-for-like in-process figure. Set before numpy, sklearn or numba load.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# Our own demo bundle build: ~/.cache/limit-explain is shared by every checkout on the machine, and another
# checkout's catalog format may not be this one's.
os.environ.setdefault("EXPLAIN_HOME", str(REPO / "var" / "bench-home"))

import httpx  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _features() -> list[dict]:
    """Background accounts whose decrease the service can explain and phrase in both locales."""
    from api.service import compute
    from explain import ExplainError, demo_bundle

    bundle = demo_bundle()
    rows = []
    for i in range(len(bundle.background)):
        row = {k: (v.item() if hasattr(v, "item") else v) for k, v in bundle.background.iloc[i].to_dict().items()}
        try:
            compute(bundle, _inputs(bundle.name, row, i))
        except ExplainError:
            continue
        rows.append(row)
        if len(rows) == 16:
            break
    return rows


def _inputs(bundle: str, row: dict, i: int) -> dict:
    from api.service import decision_inputs

    fields = {k: v for k, v in _body(row, i).items() if k != "bundle"}
    return decision_inputs(bundle=bundle, effective_date=None, notice_date=None, policy_reasons=[], **fields)


def _body(features: dict, i: int) -> dict:
    return {"account_ref": f"bench-{i % 997}", "bundle": "german-credit-demo", "features": features,
            "decision": "limit_decrease", "old_limit": 20000, "new_limit": 8000, "currency": "CNY",
            "locales": ["zh_CN", "en"], "channels": ["letter"]}


def in_process_cost(rows: list[dict], n: int) -> float:
    """Seconds per decision for explain + reasons + two notices, in this process, one at a time (median)."""
    from api.service import compute
    from explain import demo_bundle

    bundle = demo_bundle()
    inputs = [_inputs(bundle.name, rows[i % len(rows)], i) for i in range(n)]
    for item in inputs[: len(rows)]:  # warm every row's path once, as the server's warm-up requests do
        compute(bundle, item)
    times = []
    for item in inputs:
        start = time.perf_counter()
        compute(bundle, item)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def sequential(base: str, key: str, rows: list[dict], n: int) -> list[float]:
    """One client, one request at a time: the latency of an idle server, i.e. the work plus the overhead."""
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:
        for i in range(n):
            t = time.perf_counter()
            r = await client.post("/v1/decisions", json=_body(rows[i % len(rows)], i))
            out.append(time.perf_counter() - t)
            assert r.status_code == 201, r.text
    return out


async def drive(base: str, key: str, rows: list[dict], clients: int, total: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        for i in range(clients * 2):  # warm every worker and connection
            await client.post("/v1/decisions", json=_body(rows[i % len(rows)], i))

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t = time.perf_counter()
                r = await client.post("/v1/decisions", json=_body(rows[i % len(rows)], i))
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 201

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return latencies, time.perf_counter() - start, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--in-process", type=int, default=200, help="decisions timed in-process")
    parser.add_argument("--sequential", type=int, default=100, help="requests timed one at a time (idle server)")
    args = parser.parse_args()

    from explain.audit._store import AuditStore

    tmp = Path(tempfile.mkdtemp(prefix="explain-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    store = AuditStore(url)
    key, _ = store.create_api_key("issuer", name="bench")
    store.close()
    rows = _features()

    port = _free_port()
    env = {**os.environ, "EXPLAIN_DATABASE_URL": url, "EXPLAIN_BUNDLES": "demo", "PYTHONPATH": str(REPO)}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below, after the server
    proc = subprocess.Popen([sys.executable, "-m", "explain.commands._cli_service", "serve", "--port", str(port),
                             "--workers", str(args.workers), "--log-level", "warning"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                sys.exit(f"server exited; see {tmp / 'server.log'}")
            time.sleep(0.25)
        latencies, elapsed, errors = asyncio.run(drive(base, key, rows, args.clients, args.requests))
        idle = sorted(asyncio.run(sequential(base, key, rows, args.sequential)))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()

    cost = in_process_cost(rows, args.in_process)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    rps = len(latencies) / elapsed
    cores = os.cpu_count() or 1
    ideal_rps = min(args.workers, cores) / cost
    print(f"POST /v1/decisions  demo bundle, locales zh_CN+en, {args.clients} clients, {args.workers} workers, "
          f"{cores} cores, store {url.split(':')[0]}")
    print(f"  requests        {len(latencies)}  ({errors} errors)")
    print(f"  throughput      {rps:8.1f} req/s    (target >= 200)")
    print(f"  latency p50     {p50 * 1000:8.1f} ms")
    print(f"  latency p99     {p99 * 1000:8.1f} ms       (target < 50)")
    print(f"  in-process      {cost * 1000:8.1f} ms per decision (explain + reasons + 2 notices), "
          f"{1 / cost:.1f}/s on one core, {ideal_rps:.1f}/s on {min(args.workers, cores)}")
    idle_p50 = statistics.median(idle)
    print(f"  idle server     {idle_p50 * 1000:8.1f} ms p50, one request at a time "
          f"(overhead {1000 * (idle_p50 - cost):+.1f} ms over in-process)")
    print(f"  ratio           idle p50 / in-process = {idle_p50 / cost:.2f}x;  loaded p50 / in-process = {p50 / cost:.2f}x;  "
          f"throughput = {rps / ideal_rps:.2f} of the in-process ideal")


if __name__ == "__main__":
    main()
