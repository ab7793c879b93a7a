"""The websocket Origin check: scheme, host and port, not the host alone.

Channels' AllowedHostsOriginValidator compares only the Origin's host name with ALLOWED_HOSTS,
so a page served from `http://127.0.0.1:6666` (another program on the same machine) or from
plain `http://` in front of an HTTPS site could open a socket with the visitor's cookies.
Here a socket is accepted only when its Origin is exactly the site's own origin — the scheme
of the connection (ws -> http, wss -> https), the Host header (which must be an allowed host)
and its port, default ports normalised — or one listed in CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    return scheme, host.lower().rstrip("."), port if port is not None else DEFAULT_PORTS.get(scheme, -1)


def parse_origin(value: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.username:
        return None
    return _origin_tuple(parts.scheme, parts.hostname, port)


def own_origin(scope) -> tuple[str, str, int] | None:
    """The site's origin as this connection reached it: scheme from ws/wss, host and port from Host."""
    headers = dict(scope.get("headers") or [])
    host_header = headers.get(b"host", b"").decode("latin-1")
    host, port = split_domain_port(host_header)
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return _origin_tuple(scheme, host, int(port) if port else None)


def origin_allowed(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    origin = parse_origin(headers.get(b"origin", b"").decode("latin-1"))
    if origin is None:
        return False
    trusted = {parse_origin(o) for o in getattr(settings, "CSRF_TRUSTED_ORIGINS", [])}
    return origin == own_origin(scope) or origin in trusted


class SameOriginWebsocketValidator:
    """ASGI middleware: a websocket whose Origin is not the site's own is denied (HTTP 403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
