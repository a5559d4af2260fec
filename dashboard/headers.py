"""Security headers on every response of the command center.

The content security policy allows scripts from this server only, plus Dash's own inline
scripts by their hashes (``app.csp_hashes()``: the renderer start-up and any inline
clientside callback; Dash's config block is JSON, which a browser never runs). Styles may
be inline: Plotly and React set them on elements. A configured tile server is allowed
for images and fetches, with the blob: workers its map library starts. No page may be
framed by another site (clickjacking of the action buttons).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dash
from werkzeug.wrappers import Response


def content_security_policy(script_hashes: list[str], tile_url: str = "") -> str:
    """The policy for the app's inline script hashes and optional tile server.

    >>> content_security_policy(["'sha256-abc='"]).split("; ")[1]
    "script-src 'self' 'sha256-abc='"
    """
    tiles = urlsplit(tile_url)
    tile_origin = f" {tiles.scheme}://{tiles.netloc}" if tiles.scheme and tiles.netloc else ""
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", *script_hashes]),
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{tile_origin}",
        f"connect-src 'self'{tile_origin}",
        "font-src 'self' data:",
        "worker-src 'self' blob:" if tile_origin else "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def security_headers(policy: str, tls: bool) -> dict[str, str]:
    """Every response's headers; ``tls`` adds HSTS (only meaningful over HTTPS)."""
    headers = {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if tls:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def install(app: dash.Dash, tile_url: str, tls: bool) -> None:
    """Add the headers to every response of ``app``: call it once every callback is
    registered, so the hashes cover every inline script."""
    headers = security_headers(content_security_policy(list(app.csp_hashes()), tile_url), tls)

    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.server.after_request(add_headers)
