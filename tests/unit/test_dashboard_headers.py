"""Security headers on every response of the command center, and a content security
policy that still lets Dash run: every inline script Dash writes into the page is allowed
by its hash, and no other inline script is."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry

from dashboard.app import create_app
from dashboard.audit import MemoryAuditLog
from dashboard.sender import RecordingSender
from dashboard.users import MemoryUserStore, demo_store
from infra.settings import DashboardSettings, load
from tests.dashboard_fake import FakeQueries

BASIC = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture(scope="module")
def users() -> MemoryUserStore:
    return demo_store(now_s=1_764_000_000)


def _client(users: MemoryUserStore, **settings: Any) -> FlaskClient:
    configured = load(DashboardSettings, dashboard_secret_key="k" * 32, **settings)
    app = create_app(configured, FakeQueries(), CollectorRegistry(), users, RecordingSender(),
                     audit=MemoryAuditLog())  # fmt: skip
    return app.server.test_client()


def _logged_in(users: MemoryUserStore, **settings: Any) -> FlaskClient:
    client = _client(users, **settings)
    login = client.post("/login", data={"username": "commander", "password": "commander-demo"})
    assert login.status_code == 302
    return client


def _policy(response: Any) -> dict[str, list[str]]:
    directives = response.headers["Content-Security-Policy"].split("; ")
    return {name: values for name, *values in (d.split(" ") for d in directives)}


def test_every_kind_of_response_carries_the_security_headers(users: MemoryUserStore) -> None:
    anonymous = _client(users)
    answers = [
        anonymous.get("/"),  # redirect to the login
        anonymous.get("/login"),
        anonymous.post("/login", data={"username": "commander", "password": "wrong"}),
        anonymous.get("/_dash-layout"),  # 401 JSON
        anonymous.get("/assets/citybrain.css"),
    ]
    client = _logged_in(users)
    token = client.get_cookie("_csrf_token")
    assert token is not None
    answers += [
        client.get("/"),
        client.get("/_dash-layout"),
        client.get("/_dash-dependencies"),
        client.post("/_dash-update-component", json={}),  # 403: no CSRF token
        client.get("/no/such/page"),
        client.get("/logout"),
    ]
    assert {r.status_code for r in answers} >= {200, 302, 401, 403}
    for response in answers:
        assert {name: response.headers.get(name) for name in BASIC} == BASIC, response
        policy = _policy(response)
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]
        assert "Strict-Transport-Security" not in response.headers


def test_dash_still_renders_under_the_policy(users: MemoryUserStore) -> None:
    page = _logged_in(users).get("/")
    assert page.status_code == 200
    # What sits in a comment (Dash's <!--[if IE]> warning) is never run by a browser.
    html = re.sub(r"<!--.*?-->", "", page.data.decode(), flags=re.S)
    allowed = set(_policy(page)["script-src"])
    assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
    executable = [body for attrs, body in inline if "application/json" not in attrs]
    assert executable, "Dash starts its renderer with an inline script"
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed, body[:80]
    assert '<script id="_dash-config" type="application/json"' in html  # data, never run
    assert re.search(r'<script src="/_dash-component-suites/', html)  # from 'self'


def test_a_tile_server_is_allowed_for_images_and_fetches_only(users: MemoryUserStore) -> None:
    client = _client(users, dashboard_tile_url="https://tiles.city.local:8443/{z}/{x}/{y}.png")
    policy = _policy(client.get("/login"))
    assert "https://tiles.city.local:8443" in policy["img-src"]
    assert "https://tiles.city.local:8443" in policy["connect-src"]
    assert "https://tiles.city.local:8443" not in policy["script-src"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert _policy(_client(users).get("/login"))["worker-src"] == ["'self'"]


def test_hsts_only_when_served_over_tls(users: MemoryUserStore) -> None:
    response = _client(users, dashboard_secure_cookies=True).get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_master_registers_dashs_scripts_before_its_workers_fork(
    users: MemoryUserStore,
) -> None:
    """Workers inherit the registered script paths: none has to register them on its first
    request, where parallel requests for scripts raced it and got HTTP 500."""
    from dashboard import serve

    configured = load(DashboardSettings, dashboard_secret_key="k" * 32)
    app = create_app(configured, FakeQueries(), CollectorRegistry(), users, RecordingSender(),
                     audit=MemoryAuditLog())  # fmt: skip
    assert "dash" not in app.registered_paths
    serve.preload(app)
    assert "dash" in app.registered_paths
    polyfill = next(p for p in app.registered_paths["dash"] if "polyfill" in p)
    assert polyfill.endswith(".js")
