"""Against the real services (PostgreSQL + Redis): a real Celery worker process, and a
websocket message that crosses processes through the Redis channel layer.

Skipped on the embedded defaults; .ci/run sets ATTUNE_REQUIRE_SERVICES=1 for its second
pass, where a missing REDIS_URL is a failure instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.services


@pytest.fixture(autouse=True)
def _need_services():
    if not os.environ.get("REDIS_URL"):
        if os.environ.get("ATTUNE_REQUIRE_SERVICES") == "1":
            pytest.fail("ATTUNE_REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("needs REDIS_URL (real Redis); runs in .ci/run's second pass")


def test_settings_use_the_real_services():
    assert django_settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert django_settings.CELERY_BROKER_URL.startswith("redis://")
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        from django.db import connection

        assert connection.vendor == "postgresql"


@pytest.fixture
def celery_worker_process():
    env = dict(os.environ)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "default,ml", "--pool", "solo",
         "--concurrency", "1", "--without-heartbeat", "--without-gossip", "--without-mingle", "-n", f"test-{os.getpid()}@%h",
         "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_task_round_trips_through_a_real_worker(settings, celery_worker_process):
    from accounts.tasks import ping
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        result = ping.apply_async(args=["round-trip"], queue="default")
        assert result.get(timeout=60) == "pong:round-trip"
        assert result.status == "SUCCESS"
    finally:
        app.conf.task_always_eager = True
    assert celery_worker_process.poll() is None  # the worker is still alive


@pytest.mark.django_db(transaction=True)
async def test_websocket_message_crosses_processes_through_redis(participant):
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from config.asgi import application

    browser = Client()
    await sync_to_async(browser.force_login)(participant)
    cookie = browser.cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application, "/ws/ping/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    time.sleep(0.2)
    # Another process publishes to the group; only Redis can carry it to this consumer.
    script = textwrap.dedent(
        """
        import django, os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer
        async_to_sync(get_channel_layer().group_send)("ping", {"type": "ping.echo", "payload": {"from": "other-process"}})
        """
    )
    await sync_to_async(subprocess.run)([sys.executable, "-c", script], cwd=ROOT, env=dict(os.environ), check=True, timeout=60)
    message = json.loads(await communicator.receive_from(timeout=10))
    assert message == {"type": "pong", "payload": {"from": "other-process"}}
    await communicator.disconnect()
