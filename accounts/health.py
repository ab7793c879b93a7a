"""Health of the runtime parts: database, channel layer, broker."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from config.celery_app import app

logger = logging.getLogger(__name__)


@dataclass
class PartStatus:
    ok: bool
    detail: str
    ms: float


@dataclass
class HealthReport:
    parts: dict[str, PartStatus] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.parts.values())

    def as_dict(self, *, detailed: bool = True) -> dict:
        """Anonymous callers (load balancers) get ok/latency only: error details can name
        hosts, so they are for staff and the logs."""
        return {
            "status": "ok" if self.ok else "degraded",
            **{
                name: {"ok": p.ok, "ms": round(p.ms, 1), **({"detail": p.detail} if detailed else {})}
                for name, p in self.parts.items()
            },
        }


def _timed(fn) -> PartStatus:
    start = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a health check reports failures, it does not raise them
        detail, ok = f"{type(exc).__name__}: {exc}", False
        logger.warning("health check failed: %s", detail)
    return PartStatus(ok=ok, detail=detail, ms=(time.perf_counter() - start) * 1000)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def roundtrip() -> None:
        channel = await layer.new_channel()
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await layer.receive(channel)
        if message.get("token") != token:
            raise RuntimeError("channel layer returned a different message")

    async_to_sync(roundtrip)()
    return type(layer).__name__


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (tasks run in-process)"

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_name


def check_all() -> HealthReport:
    return HealthReport(
        parts={
            "database": _timed(_database),
            "channel_layer": _timed(_channel_layer),
            "broker": _timed(_broker),
        }
    )
