"""Limits every websocket consumer applies: how many sockets one account and one client address
may hold open at once, and closing a browser session's sockets when it logs out.

One account with hundreds of sockets slowed the webcam for everyone (issue 13); a socket that
outlived its log-out kept being answered. Counts live in the cache (Redis in production, so
they hold across server processes), each with a time-to-live so a crashed process cannot leave
a count behind for ever.

The limits are ATTUNE_WS_MAX_PER_USER, ATTUNE_WS_MAX_PER_IP and ATTUNE_WS_COUNT_TTL (accounts/conf.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from accounts import conf

logger = logging.getLogger(__name__)

CLOSE_TOO_MANY = 4429
CLOSE_LOGGED_OUT = 4401


def client_ip(scope) -> str:
    """The peer address (uvicorn/daphne behind a proxy put the forwarded address here when
    started with --proxy-headers; see platform/README.md)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def session_group_name(session_key: str) -> str:
    """Channel-layer group of every socket opened by one browser session."""
    return f"sockets.session.{session_key}"


@dataclass
class SocketSlot:
    keys: list[str]


async def _incr(key: str) -> int:
    await cache.aadd(key, 0, timeout=conf.WS_COUNT_TTL)
    try:
        return await cache.aincr(key)
    except ValueError:  # expired between add and incr
        await cache.aset(key, 1, timeout=conf.WS_COUNT_TTL)
        return 1


async def _decr(key: str) -> None:
    try:
        await cache.adecr(key)
    except ValueError:
        pass


TOO_MANY_PER_ACCOUNT = _("At most %(limit)d live connections per account; close another tab or window first.")
TOO_MANY_PER_ADDRESS = _("At most %(limit)d live connections per network address; close another tab or window first.")


async def slot_take(*, user_id: int, ip: str) -> tuple[SocketSlot | None, str]:
    """Count one more socket for this account and this address: (slot, "") when both are
    under their limits, else (None, why) with nothing counted."""
    limits = [
        (f"ws:user:{user_id}", conf.WS_MAX_PER_USER, TOO_MANY_PER_ACCOUNT),
        (f"ws:ip:{ip}", conf.WS_MAX_PER_IP, TOO_MANY_PER_ADDRESS),
    ]
    taken: list[str] = []
    for key, limit, why in limits:
        count = await _incr(key)
        taken.append(key)
        if count > limit:
            for k in taken:
                await _decr(k)
            return None, why % {"limit": limit}  # in the language active for the socket
    return SocketSlot(taken), ""


async def slot_release(slot: SocketSlot | None) -> None:
    if slot is not None:
        for key in slot.keys:
            await _decr(key)
        slot.keys = []


def sockets_close_for_session(session_key: str | None) -> None:
    """Tell every socket opened by this browser session to close (called at log-out)."""
    layer = get_channel_layer()
    if layer is None or not session_key:
        return
    try:
        async_to_sync(layer.group_send)(session_group_name(session_key), {"type": "session.ended"})
    except Exception:  # log-out itself must not fail because the layer hiccups
        logger.exception("Could not close the sockets of a logged-out session")
