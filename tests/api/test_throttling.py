"""Failed-authentication throttling (api.throttle): exponential delay, then a lockout, per client address and per
key id, on the API and the agent page's sign-in; a metric and one log line per lockout. The clock is stepped by
hand, nothing sleeps."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from apihelpers import assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app
from api.throttle import AuthThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path, clock) -> Iterator:
    # the test client's address is "testclient"; trusting it as a proxy lets a test speak for other addresses
    app = create_app(make_settings(f"sqlite:///{tmp_path / 't.db'}", warm_up=False, auth_throttle=True,
                                   forwarded_allow_ips=["testclient"]))
    app.state.auth_throttle.clock = clock
    with TestClient(app) as client:
        app.state.client = client
        yield app


def _get(app, key: str, address: str = "198.51.100.1"):  # noqa: ANN202
    return app.state.client.get("/v1/bundles", headers={"Authorization": f"Bearer {key}",
                                                        "X-Forwarded-For": address})


def _metric(app, name: str, **labels: str) -> float:
    text = app.state.client.get("/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{wanted}\}} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_delays_double_after_the_free_failures_then_a_lockout(clock) -> None:
    locked = []
    throttle = AuthThrottle(free_failures=3, delay=1, max_delay=60, lockout_failures=10, lockout_seconds=900,
                            clock=clock, on_lockout=locked.append)
    who = [("address", "a")]
    waits = []
    for _ in range(9):
        throttle.failed(who)
        waits.append(throttle.wait_seconds(who))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32]
    throttle.failed(who)
    assert throttle.wait_seconds(who) == 900 and locked == ["address"]
    clock.now += 900
    assert throttle.wait_seconds(who) == 0
    clock.now += 1
    throttle.failed(who)  # failures older than the lockout are forgotten: a fresh start
    assert throttle.wait_seconds(who) == 0


def test_api_keys_are_throttled_per_address_with_retry_after_and_no_database_call(app, clock, caplog) -> None:
    calls = []
    store = app.state.store
    real = store.authenticate
    store.authenticate = lambda key: calls.append(key) or real(key)
    for _ in range(3):
        assert_problem(_get(app, "exk_nope_wrong"), 401)
    assert_problem(_get(app, "exk_nope_wrong"), 401)  # the 4th failure: wait 1 s
    r = _get(app, "exk_other_wrong")
    assert_problem(r, 429)
    assert r.headers["retry-after"] == "1" and len(calls) == 4  # refused without asking the database
    clock.now += 1
    assert_problem(_get(app, "exk_third_wrong"), 401)
    assert _get(app, "exk_x_y").headers["retry-after"] == "2"
    # another address is not held up by this one
    assert_problem(_get(app, "exk_z_wrong", address="198.51.100.2"), 401)
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        for _ in range(10):  # five more failures lock the address out; five more attempts are refused
            clock.now += 60
            _get(app, "exk_again_wrong")
    lockouts = [r for r in caplog.records if "lockout" in r.getMessage() and "198.51.100.1" in r.getMessage()]
    assert len(lockouts) == 1, [r.getMessage() for r in caplog.records]
    r = _get(app, "exk_again_wrong")
    assert_problem(r, 429)
    assert int(r.headers["retry-after"]) == 900 - 5 * 60
    assert _metric(app, "explain_auth_lockouts_total", scope="address") == 1
    assert _metric(app, "explain_auth_failures_total", via="api") >= 10
    assert _metric(app, "explain_auth_throttled_total", via="api") >= 2


def test_a_key_id_is_throttled_from_every_address_and_a_good_key_clears_it(app, clock) -> None:
    key, caller = app.state.store.create_api_key("agent", name="target")
    wrong = f"exk_{caller.key_id}_notthesecret"
    for i in range(4):
        assert_problem(_get(app, wrong, address=f"203.0.113.{i}"), 401)
    r = _get(app, wrong, address="203.0.113.99")  # a fresh address, the same key id: wait
    assert_problem(r, 429)
    clock.now += 1
    assert _get(app, key, address="203.0.113.100").status_code == 200  # the holder, after the delay
    for i in range(3):  # its success forgot the key id's failures: three free ones again
        assert_problem(_get(app, wrong, address=f"203.0.113.{10 + i}"), 401)


def test_a_key_id_lockout_is_logged_once_and_counted(app, clock, caplog) -> None:
    _key, caller = app.state.store.create_api_key("issuer", name="guessed")
    with caplog.at_level(logging.WARNING, logger="api.auth"):
        for i in range(30):
            clock.now += 61
            _get(app, f"exk_{caller.key_id}_guess{i}", address=f"192.0.2.{i}")
    lines = [r.getMessage() for r in caplog.records if "lockout" in r.getMessage()]
    assert lines == [f"authentication lockout: key {caller.key_id} after 10 failures, refused for 900 s"]
    assert _metric(app, "explain_auth_lockouts_total", scope="key") == 1


def test_sign_in_is_throttled_with_the_pages_own_answer(app, clock) -> None:
    client = app.state.client

    def attempt(key: str):  # noqa: ANN202
        form = client.get("/agent/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        return client.post("/agent/sign-in", data={"csrf": csrf, "key": key}, follow_redirects=False,
                           headers={"X-Forwarded-For": "198.51.100.7"})

    assert [attempt("exk_a_wrong").status_code for _ in range(4)] == [401] * 4
    good, _ = app.state.store.create_api_key("agent", name="page")
    r = attempt(good)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert "Try again in 1 seconds" in r.text or "1秒后重试" in r.text
    assert "content-security-policy" in r.headers and "x-frame-options" in r.headers
    assert 'role="alert"' in r.text and "explain_session" not in r.headers.get("set-cookie", "")
    clock.now += 1
    assert attempt(good).status_code == 303
    assert _metric(app, "explain_auth_failures_total", via="page") == 4
    assert _metric(app, "explain_auth_throttled_total", via="page") == 1


def test_a_valid_cached_key_never_consults_the_throttle(tmp_path, clock) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'c.db'}", warm_up=False, auth_throttle=True,
                                   auth_cache_seconds=30))
    with TestClient(app) as client:
        key, _ = app.state.store.create_api_key("agent")
        assert client.get("/v1/bundles", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        for _ in range(12):
            client.get("/v1/bundles", headers={"Authorization": "Bearer exk_x_wrong"})
        assert client.get("/v1/bundles", headers={"Authorization": "Bearer exk_x_wrong"}).status_code == 429
        assert client.get("/v1/bundles", headers={"Authorization": f"Bearer {key}"}).status_code == 200
