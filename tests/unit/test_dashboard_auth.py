"""Login, sessions, CSRF, login throttling, the access audit and the users CLI, through the
real Flask server of the app (demo users and the audit in memory, FakeQueries, a recording
sender)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry

from dashboard import ids, users_cli
from dashboard.app import create_app
from dashboard.audit import MemoryAuditLog
from dashboard.scope import Role
from dashboard.sender import RecordingSender
from dashboard.users import DEMO_USERS, MemoryUserStore, authenticate, demo_store
from infra.settings import DashboardSettings, load
from tests.dashboard_fake import FakeQueries


class Clock:
    def __init__(self, now: float = 1_764_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def demo_users() -> MemoryUserStore:
    """Hashed once: scrypt is slow on purpose."""
    return demo_store(now_s=1_764_000_000)


@pytest.fixture
def store(demo_users: MemoryUserStore) -> MemoryUserStore:
    return MemoryUserStore(demo_users.all())


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
def audit() -> MemoryAuditLog:
    return MemoryAuditLog()


def _client(
    clock: Clock,
    store: MemoryUserStore,
    audit: MemoryAuditLog,
    sender: RecordingSender | None = None,
    **settings: Any,
) -> FlaskClient:
    """A test client of the app; ``settings`` on top of a fixed key and 30-minute sessions."""
    configured = load(
        DashboardSettings, dashboard_secret_key="k" * 32, dashboard_session_minutes=30, **settings
    )
    app = create_app(
        configured, FakeQueries(), CollectorRegistry(), store, sender or RecordingSender(),
        clock, audit,
    )  # fmt: skip
    client = app.server.test_client()
    client.callback_keys = list(app.callback_map)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def client(
    clock: Clock, store: MemoryUserStore, sender: RecordingSender, audit: MemoryAuditLog
) -> FlaskClient:
    return _client(clock, store, audit, sender)


def _login(client: FlaskClient, username: str, password: str, target: str = "/") -> Any:
    return client.post("/login", data={"username": username, "password": password, "next": target})


def _callback(
    client: FlaskClient,
    key_part: str,
    inputs: list[dict[str, Any]],
    state: list[dict[str, Any]],
    csrf: bool = True,
) -> Any:
    """POST one callback as the renderer does."""
    key = next(k for k in _callback_keys(client) if key_part in k)
    outputs = [
        {"id": part.split(".")[0], "property": part.split(".")[1]}
        for part in key.strip(".").split("...")
    ]
    body = {
        "output": key,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    token = client.get_cookie("_csrf_token")
    headers = {"X-CSRFToken": token.value} if csrf and token else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def _callback_keys(client: FlaskClient) -> list[str]:
    return list(client.callback_keys)  # type: ignore[attr-defined]


def _tier(client: FlaskClient, path: str, csrf: bool = True) -> Any:
    return _callback(
        client,
        f"{ids.TIER_STATUS}.children",
        [{"id": ids.TIER_REFRESH, "property": "n_intervals", "value": 1}],
        [
            {"id": ids.URL, "property": "pathname", "value": path},
            {"id": ids.URL, "property": "search", "value": ""},
            {"id": ids.LANG, "property": "data", "value": "en"},
        ],
        csrf,
    )


def test_every_page_and_callback_needs_a_login(client: FlaskClient) -> None:
    page = client.get("/district/D1?wall=1")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/district/D1?wall=1"
    assert client.get("/_dash-layout").status_code == 401
    assert _tier(client, "/district/D1", csrf=False).status_code == 401
    login = client.get("/login")
    assert login.status_code == 200 and b'name="password"' in login.data
    assert client.get("/assets/citybrain.css").status_code == 200


def test_a_login_opens_the_asked_page_and_sets_a_csrf_cookie(client: FlaskClient) -> None:
    answer = _login(client, "commander", "commander-demo", "/district/D1")
    assert answer.status_code == 302 and answer.headers["Location"] == "/district/D1"
    assert client.get_cookie("_csrf_token") is not None
    assert client.get("/district/D1").status_code == 200
    assert _tier(client, "/district/D1").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("commander", "wrong"),
        ("nobody", "commander-demo"),
        ("commander", ""),
        ("x' OR 1=1", "a"),
    ],
)
def test_a_wrong_login_says_only_that(client: FlaskClient, username: str, password: str) -> None:
    answer = _login(client, username, password)
    assert answer.status_code == 401 and b"wrong username or password" in answer.data
    assert client.get("/").status_code == 302


def test_the_login_page_speaks_chinese(client: FlaskClient) -> None:
    assert "用户名" in client.get("/login?lang=zh").get_data(as_text=True)
    failed = client.post("/login", data={"username": "a", "password": "b", "lang": "zh"})
    assert "用户名或密码错误" in failed.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil"])
def test_no_open_redirect_after_login(client: FlaskClient, target: str) -> None:
    assert _login(client, "commander", "commander-demo", target).headers["Location"] == "/"


def test_a_callback_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    _login(client, "commander", "commander-demo")
    assert _tier(client, "/district/D1", csrf=False).status_code == 403


def test_a_session_expires(client: FlaskClient, clock: Clock) -> None:
    _login(client, "commander", "commander-demo")
    clock.now += 29 * 60
    assert _tier(client, "/city").status_code == 200
    clock.now += 2 * 60
    assert _tier(client, "/city").status_code == 401
    page = client.get("/city")
    assert page.status_code == 302 and "expired=1" in page.headers["Location"]
    assert "session expired" in client.get(page.headers["Location"]).get_data(as_text=True)


def test_disabling_a_user_ends_their_session_within_a_minute(
    client: FlaskClient, clock: Clock, store: MemoryUserStore
) -> None:
    _login(client, "operator-d1", "operator-demo")
    user = store.get("operator-d1")
    assert user is not None
    store.put(replace(user, disabled=True))
    assert _tier(client, "/district/D1").status_code == 200  # checked less than a minute ago
    clock.now += 61
    assert _tier(client, "/district/D1").status_code == 401


def test_a_forged_callback_of_a_district_operator_gets_no_other_districts_data(
    client: FlaskClient,
) -> None:
    _login(client, "operator-d1", "operator-demo")
    answer = _tier(client, "/district/D2")
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert "district D2 is outside your scope (district D1)" in body
    assert "alert-4" not in body and "D2-S1-G01" not in body
    own = _tier(client, "/district/D1").get_data(as_text=True)
    assert "D1-S1-G01" in own


def test_an_action_through_dash_is_sent_with_the_sessions_identity(
    client: FlaskClient, sender: RecordingSender
) -> None:
    _login(client, "operator-d1", "operator-demo")
    answer = _callback(
        client,
        f"{ids.ACTION_RESULT}.children",
        [{"id": ids.ACTION_SUBMIT, "property": "n_clicks", "value": 1}],
        [
            {"id": ids.CONSOLE_URL, "property": "search", "value": "?alert=alert-1"},
            {"id": ids.ACTION_KIND, "property": "value", "value": "acknowledge"},
            {"id": ids.ACTION_ASSIGNEE, "property": "value", "value": None},
            {"id": ids.ACTION_COMMENT, "property": "value", "value": "on it"},
            {"id": ids.LANG, "property": "data", "value": "en"},
        ],
    )
    assert answer.status_code == 200 and "sent: acknowledge on alert-1" in answer.get_data(
        as_text=True
    )
    (message,) = sender.sent
    assert (message["actor"], message["role"], message["district"]) == (
        "operator-d1",
        "district_operator",
        "D1",
    )
    assert message["ts"] == 1_764_000_000_000 and message["comment"] == "on it"


def test_passwords_are_stored_only_as_salted_hashes(store: MemoryUserStore) -> None:
    for demo in DEMO_USERS:
        user = store.get(demo.username)
        assert user is not None and user.password_hash.startswith("scrypt:")
        assert demo.password not in user.password_hash
    assert authenticate(store, "wall", "wall-demo") is not None
    assert authenticate(store, "wall", "wall-demo ") is None


def test_the_users_cli_adds_lists_disables_and_makes_the_demo_users() -> None:
    store, out, audit = MemoryUserStore(), io.StringIO(), MemoryAuditLog()
    argv = [
        "add",
        "--username",
        "li",
        "--role",
        "district_operator",
        "--district",
        "D2",
        "--password-stdin",
    ]
    assert users_cli.run(argv, store, audit, stdin=io.StringIO("s3cret-pass\n"), out=out) == 0
    user = store.get("li")
    assert user is not None and (user.role, user.district) == (Role.DISTRICT_OPERATOR, "D2")
    assert authenticate(store, "li", "s3cret-pass") is not None
    prompted = ["add", "--username", "wu", "--role", "engineer"]
    answers = iter(["another-pass", "another-pass"])
    assert users_cli.run(prompted, store, audit, out=out, prompt=lambda _: next(answers)) == 0
    assert users_cli.run(["disable", "--username", "li"], store, audit, out=out) == 0
    assert authenticate(store, "li", "s3cret-pass") is None
    assert users_cli.run(["demo"], store, audit, out=out) == 0
    listing = io.StringIO()
    users_cli.run(["list"], store, audit, out=listing)
    lines = listing.getvalue().splitlines()
    assert "li\tdistrict_operator\tD2\tdisabled\t-" in lines and len(lines) == 8
    assert "s3cret" not in listing.getvalue()


def test_the_users_cli_puts_users_in_known_departments_audited_and_listed() -> None:
    store, out, audit = MemoryUserStore(), io.StringIO(), MemoryAuditLog()
    known = lambda: ("water", "municipal")  # noqa: E731
    argv = ["add", "--username", "zhao", "--role", "engineer", "--department", "water",
            "--password-stdin"]  # fmt: skip
    assert users_cli.run(argv, store, audit, stdin=io.StringIO("longenough\n"), out=out,
                         departments=known) == 0  # fmt: skip
    user = store.get("zhao")
    assert user is not None and user.department == "water"
    assert user.scope().department == "water"
    moved = ["department", "--username", "zhao", "--department", "municipal"]
    assert users_cli.run(moved, store, audit, out=out, departments=known) == 0
    assert store.get("zhao").department == "municipal"  # type: ignore[union-attr]
    assert [e.detail for e in audit.events] == ["department water", "department municipal"]
    listing = io.StringIO()
    users_cli.run(["list"], store, audit, out=listing)
    assert listing.getvalue().splitlines() == ["zhao\tengineer\t-\tenabled\tmunicipal"]
    for bad in (["department", "--username", "zhao", "--department", "police"],
                [*argv[:5], "--department", "police", "--password-stdin"]):  # fmt: skip
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = users_cli.run(bad, store, audit, stdin=io.StringIO("longenough\n"),
                                 out=out, departments=known)  # fmt: skip
        assert code == 2 and "unknown department 'police'" in err.getvalue()
    assert store.get("zhao").department == "municipal" and len(audit.events) == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("argv", "stdin", "error"),
    [
        (
            ["add", "--username", "a", "--role", "district_operator"],
            "longenough\n",
            "needs a district",
        ),
        (["add", "--username", "a", "--role", "engineer"], "short\n", "at least 8 characters"),
        (["add", "--username", "a b", "--role", "engineer"], "longenough\n", "a username is"),
        (["disable", "--username", "ghost"], "", "no user ghost"),
    ],
)
def test_the_users_cli_refuses_bad_input(
    argv: list[str], stdin: str, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    full = argv + (["--password-stdin"] if argv[0] == "add" else [])
    audit = MemoryAuditLog()
    given = io.StringIO(stdin)
    assert users_cli.run(full, MemoryUserStore(), audit, stdin=given, out=io.StringIO()) == 2
    assert audit.events == []
    assert error in capsys.readouterr().err


# -- throttling, the access audit and cookie flags -----------------------------------------


def test_five_wrong_passwords_lock_the_username_for_the_window(
    client: FlaskClient, clock: Clock
) -> None:
    answers = [_login(client, "commander", f"guess-{i}").status_code for i in range(5)]
    assert answers == [401] * 5
    locked = _login(client, "commander", "commander-demo")  # even the right password
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "900"
    assert b"too many failed logins for this username: try again in 15 min" in locked.data
    clock.now += 899
    assert _login(client, "commander", "commander-demo").status_code == 429
    clock.now += 1
    assert _login(client, "commander", "commander-demo").status_code == 302


def test_twenty_failures_from_one_address_lock_the_address(
    client: FlaskClient, clock: Clock
) -> None:
    for i in range(20):
        assert _login(client, f"nobody-{i}", "guess").status_code == 401
    refused = _login(client, "engineer", "engineer-demo")
    assert refused.status_code == 429
    assert b"too many failed logins from this address: try again in 15 min" in refused.data
    clock.now += 60
    text = client.post("/login", data={"username": "wall", "password": "x", "lang": "zh"})
    assert "该地址登录失败次数过多，请在14分钟后重试" in text.data.decode()


def test_a_right_password_clears_the_usernames_failures(client: FlaskClient) -> None:
    for _ in range(4):
        _login(client, "commander", "wrong-password")
    assert _login(client, "commander", "commander-demo").status_code == 302
    client.get("/logout")
    for _ in range(4):
        assert _login(client, "commander", "wrong-password").status_code == 401


def test_the_limits_and_window_are_settings(
    clock: Clock, store: MemoryUserStore, audit: MemoryAuditLog
) -> None:
    client = _client(
        clock, store, audit, dashboard_login_user_failures=2, dashboard_login_window_s=60
    )
    assert [_login(client, "li", "x").status_code for _ in range(3)] == [401, 401, 429]
    refused = _login(client, "li", "x")
    assert refused.headers["Retry-After"] == "60"
    assert b"try again in 1 min" in refused.data
    clock.now += 30
    assert b"try again in 30 s" in _login(client, "li", "x").data


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DASHBOARD_LOGIN_USER_FAILURES", "0", "greater than or equal to 1"),
        ("DASHBOARD_LOGIN_ADDRESS_FAILURES", "many", "valid integer"),
        ("DASHBOARD_LOGIN_WINDOW_S", "5", "greater than or equal to 10"),
        ("DASHBOARD_SECURE_COOKIES", "maybe", "valid boolean"),
    ],
)
def test_a_bad_throttle_or_cookie_setting_stops_the_dashboard_saying_what_is_wrong(
    variable: str,
    value: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import dashboard.__main__ as entry

    def serve(*_: object) -> None:
        raise AssertionError(f"started with CITYBRAIN_{variable}={value}")

    monkeypatch.setattr(entry.serve, "start_metrics", serve)  # a regression fails, never serves
    monkeypatch.setattr(entry.serve, "CommandCenter", serve)
    monkeypatch.setenv("CITYBRAIN_DASHBOARD_METRICS_PORT", "0")  # nor starts itself again
    monkeypatch.setenv(f"CITYBRAIN_{variable}", value)
    assert entry.main([]) == 2
    err = capsys.readouterr().err
    assert f"bad setting: CITYBRAIN_{variable}='{value}'" in err and problem in err


def test_logins_logouts_and_refusals_are_audited(
    client: FlaskClient, clock: Clock, audit: MemoryAuditLog
) -> None:
    _login(client, "operator-d1", "wrong-password")
    _login(client, "operator-d1", "operator-demo")
    assert _tier(client, "/district/D1", csrf=False).status_code == 403
    client.get("/logout")
    for _ in range(5):
        _login(client, "ghost", "guess")
    _login(client, "ghost", "guess")
    assert audit.kinds() == [
        "login_failed", "login", "request_refused", "logout",
        *["login_failed"] * 5, "login_throttled",
    ]  # fmt: skip
    failed, login, refused, logout = audit.events[:4]
    assert (failed.username, failed.address, failed.role) == ("operator-d1", "127.0.0.1", "")
    assert (login.role, login.district, login.ts_ms) == ("district_operator", "D1", 1764000000000)
    assert refused.detail == "csrf /_dash-update-component" and refused.district == "D1"
    assert (logout.username, logout.role) == ("operator-d1", "district_operator")
    assert audit.events[-1].detail == "by user"
    assert "operator-demo" not in repr(audit.events)  # never a password


def test_every_user_change_is_audited_with_its_actor() -> None:
    store, audit, out = MemoryUserStore(), MemoryAuditLog(), io.StringIO()
    add = ["add", "--username", "li", "--role", "engineer", "--password-stdin"]
    assert users_cli.run(add, store, audit, stdin=io.StringIO("first-pass\n"), out=out,
                         actor="cli:ops") == 0  # fmt: skip
    assert users_cli.run(add, store, audit, stdin=io.StringIO("second-pass\n"), out=out,
                         actor="cli:ops") == 0  # fmt: skip
    assert users_cli.run(["disable", "--username", "li"], store, audit, out=out,
                         actor="cli:ops") == 0  # fmt: skip
    assert audit.kinds() == ["user_added", "user_changed", "user_disabled"]
    assert {(e.username, e.actor, e.role) for e in audit.events} == {("li", "cli:ops", "engineer")}
    users_cli.run(["list"], store, audit, out=out)
    assert len(audit.events) == 3  # reading changes nothing


@pytest.mark.parametrize("tls", [False, True])
def test_cookies_are_secure_when_served_over_tls(
    tls: bool, clock: Clock, store: MemoryUserStore, audit: MemoryAuditLog
) -> None:
    client = _client(clock, store, audit, dashboard_secure_cookies=tls)
    cookies = _login(client, "commander", "commander-demo").headers.getlist("Set-Cookie")
    mine = [c for c in cookies if c.startswith(("citybrain_session=", "_csrf_token="))]
    assert len(mine) == 2
    assert all(("; Secure" in cookie) is tls for cookie in mine), mine
