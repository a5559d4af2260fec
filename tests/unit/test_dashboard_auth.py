"""Login, sessions, CSRF and the users CLI, through the real Flask server of the app (demo
users in memory, FakeQueries, a recording sender)."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client import CollectorRegistry

from dashboard import ids, users_cli
from dashboard.app import create_app
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
def client(clock: Clock, store: MemoryUserStore, sender: RecordingSender) -> FlaskClient:
    settings = load(DashboardSettings, dashboard_secret_key="k" * 32, dashboard_session_minutes=30)
    app = create_app(settings, FakeQueries(), CollectorRegistry(), store, sender, clock)
    client = app.server.test_client()
    client.callback_keys = list(app.callback_map)  # type: ignore[attr-defined]
    return client


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
    store, out = MemoryUserStore(), io.StringIO()
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
    assert users_cli.run(argv, store, stdin=io.StringIO("s3cret-pass\n"), out=out) == 0
    user = store.get("li")
    assert user is not None and (user.role, user.district) == (Role.DISTRICT_OPERATOR, "D2")
    assert authenticate(store, "li", "s3cret-pass") is not None
    prompted = ["add", "--username", "wu", "--role", "engineer"]
    answers = iter(["another-pass", "another-pass"])
    assert users_cli.run(prompted, store, out=out, prompt=lambda _: next(answers)) == 0
    assert users_cli.run(["disable", "--username", "li"], store, out=out) == 0
    assert authenticate(store, "li", "s3cret-pass") is None
    assert users_cli.run(["demo"], store, out=out) == 0
    listing = io.StringIO()
    users_cli.run(["list"], store, out=listing)
    lines = listing.getvalue().splitlines()
    assert "li\tdistrict_operator\tD2\tdisabled" in lines and len(lines) == 8
    assert "s3cret" not in listing.getvalue()


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
    assert users_cli.run(full, MemoryUserStore(), stdin=io.StringIO(stdin), out=io.StringIO()) == 2
    assert error in capsys.readouterr().err
