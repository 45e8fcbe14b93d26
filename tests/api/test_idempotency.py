"""Idempotency-Key: a retry returns the first response and issues no second notice."""

from __future__ import annotations

import concurrent.futures

from apihelpers import assert_problem


def test_same_key_twice_gives_one_record_and_the_same_body(fresh_service, decision_body) -> None:
    body = decision_body()
    headers = {**fresh_service.auth("issuer"), "Idempotency-Key": "retry-1"}
    first = fresh_service.client.post("/v1/decisions", json=body, headers=headers)
    second = fresh_service.client.post("/v1/decisions", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"
    assert fresh_service.store.count() == 1
    metrics = fresh_service.client.get("/metrics").text
    assert 'explain_notices_total{channel="letter",kind="limit_decrease",locale="en"} 1.0' in metrics


def test_a_new_key_is_a_new_decision(fresh_service, decision_body) -> None:
    body = decision_body()
    for key in ("a", "b"):
        r = fresh_service.client.post("/v1/decisions", json=body, headers={**fresh_service.auth("issuer"), "Idempotency-Key": key})
        assert r.status_code == 201
    assert fresh_service.store.count() == 2


def test_same_key_with_another_body_is_refused(fresh_service, decision_body) -> None:
    headers = {**fresh_service.auth("issuer"), "Idempotency-Key": "retry-2"}
    body = decision_body()
    assert fresh_service.client.post("/v1/decisions", json=body, headers=headers).status_code == 201
    r = fresh_service.client.post("/v1/decisions", json=dict(body, new_limit=7000), headers=headers)
    assert_problem(r, 422, field="header.Idempotency-Key")
    assert fresh_service.store.count() == 1


def test_keys_belong_to_their_caller(fresh_service, decision_body) -> None:
    other, _ = fresh_service.store.create_api_key("issuer", name="second issuer")
    body = decision_body()
    for key in (fresh_service.keys["issuer"], other):
        r = fresh_service.client.post("/v1/decisions", json=body,
                                      headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "shared"})
        assert r.status_code == 201
    assert fresh_service.store.count() == 2


def test_concurrent_retries_make_one_record(fresh_service, decision_body) -> None:
    body = decision_body()
    headers = {**fresh_service.auth("issuer"), "Idempotency-Key": "race"}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: fresh_service.client.post("/v1/decisions", json=body, headers=headers),
                                  range(4)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert fresh_service.store.count() == 1


def test_an_invalid_key_header_is_422(service, decision_body) -> None:
    r = service.client.post("/v1/decisions", json=decision_body(),
                            headers={**service.auth("issuer"), "Idempotency-Key": "k" * 300})
    assert_problem(r, 422, field="header.Idempotency-Key")
