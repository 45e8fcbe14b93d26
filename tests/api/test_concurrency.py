"""8 concurrent clients x 200 decisions against one uvicorn server with 2 workers on PostgreSQL."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from liveserver import running_server

from explain.audit._store import AuditStore

pytestmark = pytest.mark.slow

CLIENTS = 8
PER_CLIENT = 200


def test_concurrent_writers_keep_one_valid_chain(postgres_schema_url, accounts, tmp_path) -> None:
    url = postgres_schema_url
    store = AuditStore(url)
    issuer, _ = store.create_api_key("issuer", name="load")
    auditor, _ = store.create_api_key("auditor", name="check")
    failures: list[str] = []
    answered = [0] * CLIENTS

    def client_loop(n: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {issuer}"}) as client:
            for i in range(PER_CLIENT):
                body = {"account_ref": f"load-{n}", "bundle": "german-credit-demo",
                        "features": accounts[(n + i) % len(accounts)], "decision": "limit_decrease",
                        "old_limit": 20000, "new_limit": 8000 - i, "notice_date": "2026-11-29",
                        "locales": ["zh_CN", "en"]}
                try:
                    r = client.post("/v1/decisions", json=body, headers={"Idempotency-Key": f"load-{n}-{i}"})
                except httpx.HTTPError as exc:
                    failures.append(f"client {n} request {i}: {exc!r}")
                    continue
                answered[n] += 1
                if r.status_code != 201:
                    failures.append(f"client {n} request {i}: {r.status_code} {r.text[:300]}")

    with running_server(url, workers=2, log_path=tmp_path / "server.log") as base:
        started = time.perf_counter()
        threads = [threading.Thread(target=client_loop, args=(n, base)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        verify = httpx.get(f"{base}/v1/audit/verify", headers={"Authorization": f"Bearer {auditor}"}, timeout=120).json()
        metrics = httpx.get(f"{base}/metrics", timeout=30).text
    print(f"\n{CLIENTS}x{PER_CLIENT} decisions in {elapsed:.1f}s ({CLIENTS * PER_CLIENT / elapsed:.0f}/s)")
    assert failures == []
    assert sum(answered) == CLIENTS * PER_CLIENT
    assert store.count() == CLIENTS * PER_CLIENT
    assert verify == {"ok": True, "checked": CLIENTS * PER_CLIENT, "head_seq": CLIENTS * PER_CLIENT,
                      "head_hash": verify["head_hash"]}
    assert store.verify().ok
    # Both workers' counters, added up through the multiprocess metrics directory `explain serve` sets.
    for locale in ("zh_CN", "en"):
        assert f'explain_notices_total{{channel="letter",kind="limit_decrease",locale="{locale}"}} 1600.0' in metrics
    store.close()
