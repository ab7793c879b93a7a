"""The ASGI application's HTTP side: Django's sync handler run in a fixed thread pool (issue 16)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core import signals

from config.asgi import application
from config.sync_http import PooledHTTPHandler

ROOT = Path(__file__).resolve().parents[2]


def http(method: str, path: str, body: bytes = b"", headers=None) -> dict:
    async def go():
        comm = HttpCommunicator(application, method, path, body=body, headers=headers or [(b"host", b"testserver")])
        return await comm.get_response(timeout=30)

    return async_to_sync(go)()


@pytest.fixture
def threads_seen():
    seen: list[str] = []

    def record(**_):
        seen.append(threading.current_thread().name)

    signals.request_started.connect(record)
    yield seen
    signals.request_started.disconnect(record)


def test_the_http_side_is_the_pooled_handler_with_a_sync_middleware_chain():
    handler = application.application_mapping["http"]
    assert isinstance(handler, PooledHTTPHandler)
    assert not asyncio.iscoroutinefunction(handler._middleware_chain)  # no sync<->async hops inside


@pytest.mark.django_db(transaction=True)
def test_a_request_runs_whole_in_one_pool_thread(threads_seen):
    response = http("GET", "/healthz")
    assert response["status"] == 200
    assert b'"database"' in response["body"]
    assert len(threads_seen) == 1 and threads_seen[0].startswith("http")


@pytest.mark.django_db(transaction=True)
def test_a_post_body_reaches_the_view_and_errors_keep_their_status():
    response = http(
        "POST",
        "/api/sessions/",
        body=b'{"current": {"valence": 0, "arousal": 0}}',
        headers=[(b"host", b"testserver"), (b"content-type", b"application/json")],
    )
    assert response["status"] == 403  # not logged in: DRF's answer, through the whole chain
    assert b"credentials" in response["body"]


@pytest.mark.django_db(transaction=True)
def test_a_streamed_file_arrives_whole():
    """Static files are FileResponses: streamed chunk by chunk, each chunk read in the pool."""
    response = http("GET", "/static/js/listening-player.js")
    assert response["status"] == 200
    assert response["body"] == (ROOT / "static/js/listening-player.js").read_bytes()
