"""Login, sessions and the guard in front of every page and callback.

A signed Flask session cookie carries the user, role, district, an absolute expiry and a
CSRF token. Every request but the login page and static bundles needs a live session;
every Dash callback must also send the CSRF token (Dash's renderer reads it from the
``_csrf_token`` cookie and sends it as ``X-CSRFToken``). The user is re-read from the
store at most every ``recheck_s``, so disabling someone ends their session within it.

Failed logins are throttled per username and per address (:mod:`dashboard.throttle`), and
every login, failed or refused login, logout and refused callback is written to the access
audit (:mod:`dashboard.audit`).
"""

from __future__ import annotations

import hmac
import html
import secrets
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from flask import Flask, g, redirect, request, session
from werkzeug.wrappers import Response

from dashboard.audit import AuditLog, access_event
from dashboard.i18n import normalise, t
from dashboard.routes import language
from dashboard.scope import Scope
from dashboard.throttle import LoginThrottle, Refusal
from dashboard.users import User, UserStore, authenticate
from detectors.contract.audit import MAX_TEXT, AccessKind
from infra.settings import DashboardSettings

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
OPEN_PATHS = ("/login", "/logout", "/_dash-component-suites/", "/assets/", "/_favicon.ico")


class NotLoggedIn(PermissionError):
    """A request without a live session."""


def secret_key(settings: DashboardSettings) -> str:
    """The configured key, or a random one with a warning (sessions then end when the
    process restarts, and several dashboard processes cannot share them)."""
    configured = settings.dashboard_secret_key.get_secret_value()
    if configured:
        return configured
    print(
        "citybrain-dashboard: warning: CITYBRAIN_DASHBOARD_SECRET_KEY is empty; using a random "
        "key, so logins end when this process restarts",
        file=sys.stderr,
        flush=True,
    )
    return secrets.token_urlsafe(32)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this server only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Auth:
    """Installs login, logout and the request guard on a Flask server."""

    def __init__(
        self,
        users: UserStore,
        settings: DashboardSettings,
        audit: AuditLog,
        clock: Callable[[], float] = time.time,
        recheck_s: float = 60.0,
    ) -> None:
        self.users = users
        self.settings = settings
        self.audit = audit
        self.clock = clock
        self.recheck_s = recheck_s
        self.throttle = LoginThrottle(
            settings.dashboard_login_user_failures,
            settings.dashboard_login_address_failures,
            settings.dashboard_login_window_s,
            clock,
        )
        self._checked: dict[str, tuple[float, User | None]] = {}

    def install(self, server: Flask) -> None:
        server.secret_key = secret_key(self.settings)
        server.config.update(
            SESSION_COOKIE_NAME="citybrain_session",
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            SESSION_COOKIE_SECURE=self.settings.dashboard_secure_cookies,
            PERMANENT_SESSION_LIFETIME=timedelta(minutes=self.settings.dashboard_session_minutes),
        )
        server.add_url_rule("/login", "citybrain_login", self.login, methods=["GET", "POST"])
        server.add_url_rule("/logout", "citybrain_logout", self.logout)
        server.before_request(self.guard)

    def current_scope(self) -> Scope:
        """The scope of the request being served (set by the guard)."""
        scope = g.get("citybrain_scope")
        if scope is None:
            raise NotLoggedIn("not logged in")
        return scope  # type: ignore[no-any-return]

    def guard(self) -> Response | None:
        path = request.path
        if path.startswith(OPEN_PATHS):
            return None
        user = self._session_user()
        if user is None:
            if path.startswith("/_dash-"):
                # The page reloads on a 401 (assets/citybrain.js) and lands on the login.
                return Response(
                    '{"error": "not logged in or session expired"}',
                    401,
                    mimetype="application/json",
                )
            expired = "exp" in session
            session.clear()
            target = quote(request.full_path.rstrip("?"), safe="/?=&")
            return redirect(f"/login?next={target}" + ("&expired=1" if expired else ""))
        if request.method == "POST" and path.startswith("/_dash-"):
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent, str(session.get("csrf", ""))):
                self._record(AccessKind.REQUEST_REFUSED, user.username, "csrf " + path, user)
                return Response(
                    '{"error": "missing or wrong CSRF token"}', 403, mimetype="application/json"
                )
        g.citybrain_scope = user.scope()
        return None

    def _session_user(self) -> User | None:
        username = session.get("user")
        if not isinstance(username, str) or float(session.get("exp", 0)) <= self.clock():
            return None
        user = self._fresh(username)
        if user is None or user.disabled or user.role.value != session.get("role"):
            return None
        if user.district != session.get("district", ""):
            return None
        return user

    def _fresh(self, username: str) -> User | None:
        now = self.clock()
        checked = self._checked.get(username)
        if checked is None or now - checked[0] >= self.recheck_s:
            checked = (now, self.users.get(username))
            self._checked[username] = checked
        return checked[1]

    def login(self) -> Response:
        target = safe_next(request.values.get("next"))
        # A shared link's ?lang= (now in the address to go to after login) speaks here too.
        asked = request.values.get("lang") or language(urlsplit(target).query)
        lang = normalise(asked or self.settings.dashboard_language)
        if request.method == "GET":
            notice = t("session_expired", lang) if request.args.get("expired") else ""
            return _login_page(lang, target, notice)
        username = request.form.get("username", "")[:MAX_TEXT]
        refusal = self.throttle.refusal(username, _address())
        if refusal is not None:
            self._record(AccessKind.LOGIN_THROTTLED, username, f"by {refusal.scope}")
            return _throttled_page(lang, target, refusal)
        user = authenticate(self.users, username, request.form.get("password", ""))
        if user is None:
            self.throttle.failed(username, _address())
            self._record(AccessKind.LOGIN_FAILED, username, "wrong password or unknown user")
            return _login_page(lang, target, t("login_failed", lang), status=401)
        self.throttle.succeeded(username)
        self._record(AccessKind.LOGIN, user.username, "", user)
        return self._start_session(user, target)

    def _record(
        self, kind: AccessKind, username: str, detail: str = "", user: User | None = None
    ) -> None:
        """An audit entry about ``username`` (role and district from ``user``, else from the
        session when it is theirs)."""
        if user is not None:
            role, district = user.role.value, user.district
        elif session.get("user") == username:
            role, district = str(session.get("role", "")), str(session.get("district", ""))
        else:
            role, district = "", ""
        self.audit.record(
            access_event(kind, username, self.clock(), address=_address(), role=role,
                         district=district, detail=detail)
        )  # fmt: skip

    def _start_session(self, user: User, target: str) -> Response:
        session.clear()
        session.permanent = True
        token = secrets.token_urlsafe(24)
        minutes = self.settings.dashboard_session_minutes
        session.update(
            user=user.username,
            role=user.role.value,
            district=user.district,
            exp=self.clock() + minutes * 60,
            csrf=token,
        )
        self._checked[user.username] = (self.clock(), user)
        response = redirect(target)
        response.set_cookie(
            CSRF_COOKIE,
            token,
            max_age=minutes * 60,
            samesite="Strict",
            secure=self.settings.dashboard_secure_cookies,
        )
        return response

    def logout(self) -> Response:
        username = session.get("user")
        if isinstance(username, str):
            self._record(AccessKind.LOGOUT, username)
        session.clear()
        response = redirect("/login")
        response.delete_cookie(CSRF_COOKIE)
        return response


def _address() -> str:
    """The client's address as the server sees it (behind a proxy: the proxy's)."""
    return request.remote_addr or ""


def _throttled_page(lang: str, target: str, refusal: Refusal) -> Response:
    """429 Too Many Requests, saying whose failures it counts and when to try again."""
    seconds = refusal.retry_after_s
    wait = (
        t("wait_minutes", lang, n=-(-seconds // 60))
        if seconds >= 60
        else t("wait_seconds", lang, n=seconds)
    )
    message = t(f"login_throttled_{refusal.scope}", lang, wait=wait)
    response = _login_page(lang, target, message, status=429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _login_page(lang: str, target: str, message: str, status: int = 200) -> Response:
    other = "zh" if lang == "en" else "en"
    switch = f"/login?lang={other}&next={quote(target)}"
    error = f'<p class="login-error" role="alert">{html.escape(message)}</p>' if message else ""
    body = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{t("app_title", lang)}</title>
<link rel="stylesheet" href="/assets/citybrain.css"></head>
<body class="login-body"><form class="login-form" method="post" action="/login">
<h1>{t("app_title", lang)}</h1>{error}
<label>{t("username", lang)}<input id="username" name="username" autocomplete="username"
 required autofocus></label>
<label>{t("password", lang)}<input id="password" name="password" type="password"
 autocomplete="current-password" required></label>
<input type="hidden" name="next" value="{html.escape(target)}">
<input type="hidden" name="lang" value="{lang}">
<button id="login-submit" type="submit">{t("login", lang)}</button>
<a class="login-lang" href="{html.escape(switch)}">{"中文" if other == "zh" else "English"}</a>
</form></body></html>"""
    return Response(body, status, mimetype="text/html")
