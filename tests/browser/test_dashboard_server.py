"""The dashboard as ``scripts/up`` serves it: gunicorn, several worker processes, one login
valid on all of them (no browser needed)."""

from __future__ import annotations

import subprocess

import requests

from dashboard.serve import GRACEFUL_S


def _workers_of(url: str) -> list[int]:
    """Pids of the processes serving ``url``'s port whose parent also serves it."""
    port = url.rsplit(":", 1)[1]
    listing = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    return sorted({int(part.split("=")[1]) for part in listing.replace(",", " ").split()
                   if part.startswith("pid=")})  # fmt: skip


def test_gunicorn_serves_the_dashboard_and_a_login_holds_on_every_worker(dashboard: str) -> None:
    assert requests.get(dashboard + "/login", timeout=10).headers["Server"].startswith("gunicorn")
    assert GRACEFUL_S < 10
    assert len(_workers_of(dashboard)) >= 2  # the master and its workers share the socket
    session = requests.Session()
    answer = session.post(dashboard + "/login", timeout=10,
                          data={"username": "commander", "password": "commander-demo"})  # fmt: skip
    assert answer.status_code == 200 and "_csrf_token" in session.cookies
    cookies = session.cookies.get_dict()
    codes = [requests.get(dashboard + "/", cookies=cookies, timeout=10,
                          allow_redirects=False).status_code for _ in range(30)]  # fmt: skip
    assert codes == [200] * 30  # each on a new connection: whichever worker took it
