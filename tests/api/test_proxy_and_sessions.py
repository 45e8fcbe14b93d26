"""Behind a TLS proxy: X-Forwarded-* believed only from EXPLAIN_FORWARDED_ALLOW_IPS, Secure cookies whenever
the public URL is https, HSTS over HTTPS; and sign-out as a CSRF-protected POST that ends the server-side session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from apihelpers import make_settings
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app

FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}


@contextmanager
def _client(tmp_path, base_url: str = "http://testserver", **settings) -> Iterator[tuple[TestClient, str]]:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'p.db'}", warm_up=False, **settings))
    with TestClient(app, base_url=base_url) as client:
        key, _ = app.state.store.create_api_key("agent", name="proxy-agent")
        yield client, key


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _sign_in(client: TestClient, key: str, headers: dict[str, str] | None = None):  # noqa: ANN202
    form = client.get("/agent/sign-in", headers=headers)
    # sent by hand: a Secure cookie would not be sent back over the test client's plain http:// hop
    signin = form.headers["set-cookie"].split(";")[0]
    return client.post("/agent/sign-in", data={"csrf": _csrf(form.text), "key": key},
                       headers={**(headers or {}), "cookie": signin}, follow_redirects=False)


def _session_cookie(response) -> str:  # noqa: ANN001
    return next(c for c in response.headers.get_list("set-cookie") if c.startswith("explain_session="))


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(tmp_path) -> None:
    with _client(tmp_path) as (client, key):  # default: only 127.0.0.1 is a trusted proxy
        r = _sign_in(client, key, FORWARDED)
        assert r.status_code == 303
        assert "Secure" not in _session_cookie(r)
        assert "strict-transport-security" not in client.get("/healthz", headers=FORWARDED).headers


def test_a_trusted_proxys_https_gives_secure_cookies_and_hsts(tmp_path) -> None:
    with _client(tmp_path, forwarded_allow_ips=["testclient"]) as (client, key):
        r = _sign_in(client, key, FORWARDED)
        assert "Secure" in _session_cookie(r) and "HttpOnly" in _session_cookie(r)
        health = client.get("/healthz", headers=FORWARDED)
        assert health.headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in client.get("/healthz").headers  # that hop was plain HTTP


def test_an_https_public_url_makes_cookies_secure_even_without_a_trusted_proxy(tmp_path) -> None:
    with _client(tmp_path, public_url="https://explain.example.com") as (client, key):
        form = client.get("/agent/sign-in")
        signin_cookie = next(c for c in form.headers.get_list("set-cookie") if c.startswith("explain_signin="))
        assert "Secure" in signin_cookie
        assert "Secure" in _session_cookie(_sign_in(client, key))


def test_hsts_over_direct_https_and_its_max_age_is_a_setting(tmp_path) -> None:
    with _client(tmp_path, base_url="https://testserver", hsts_seconds=600) as (client, _key):
        assert client.get("/healthz").headers["strict-transport-security"] == "max-age=600"
    with _client(tmp_path, base_url="https://testserver", hsts_seconds=0) as (client, _key):
        assert "strict-transport-security" not in client.get("/healthz").headers


def test_sign_out_is_a_post_with_the_sessions_csrf_token_and_ends_the_session(tmp_path) -> None:
    with _client(tmp_path) as (client, key):
        _sign_in(client, key)
        token = client.cookies["explain_session"]
        page = client.get("/agent")
        assert page.status_code == 200
        # a cross-site page: GET, or a POST without the token, neither ends the session nor drops the cookie
        assert client.get("/agent/sign-out", follow_redirects=False).status_code == 405
        forged = client.post("/agent/sign-out", data={"csrf": "forged"}, follow_redirects=False)
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        assert client.post("/agent/sign-out", follow_redirects=False).status_code == 403
        assert client.get("/agent", follow_redirects=False).status_code == 200
        # the agent's own form
        out = client.post("/agent/sign-out", data={"csrf": _csrf(page.text)}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/agent/sign-in"
        assert 'explain_session=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
        # the server forgot it: a copy of the old cookie is worth nothing
        client.cookies.clear()
        client.cookies.set("explain_session", token, path="/agent")
        r = client.get("/agent", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/agent/sign-in"


def test_serve_exports_the_proxy_options_to_its_workers(tmp_path, monkeypatch) -> None:
    import typer

    from explain.commands import _cli_service

    for name in ("EXPLAIN_DATABASE_URL", "EXPLAIN_FORWARDED_ALLOW_IPS", "EXPLAIN_PUBLIC_URL",
                 "PROMETHEUS_MULTIPROC_DIR", "OMP_NUM_THREADS"):
        monkeypatch.setenv(name, "")
    monkeypatch.delenv("EXPLAIN_GC_FREEZE", raising=False)  # set by serve for its workers: gone after the test
    monkeypatch.setattr(_cli_service, "_run", lambda *args: None)
    app = typer.Typer()
    _cli_service.register(app)
    result = CliRunner().invoke(app, ["serve", "--database-url", f"sqlite:///{tmp_path / 's.db'}",
                                      "--forwarded-allow-ips", "10.0.0.0/8,192.0.2.1",
                                      "--public-url", "https://explain.example.com"])
    assert result.exit_code == 0, result.output
    from api.settings import Settings

    settings = Settings()
    assert settings.forwarded_allow_ips == ["10.0.0.0/8", "192.0.2.1"] and settings.public_https


@pytest.mark.parametrize("proxies", ["10.0.0.0/8", "*"])
def test_the_client_address_is_the_forwarded_one_only_from_a_trusted_proxy(tmp_path, proxies) -> None:
    with _client(tmp_path, forwarded_allow_ips=[proxies, "testclient"]) as (client, _key):
        app = client.app
        seen = []

        @app.get("/whoami-test")
        def whoami(request: __import__("fastapi").Request) -> dict:
            seen.append(request.client.host)
            return {}

        client.get("/whoami-test", headers=FORWARDED)
        assert seen == ["203.0.113.9"]
