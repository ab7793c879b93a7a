"""Runtime parts on whatever backends the environment configures: health, websockets,
tasks, and production settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator

from accounts.tasks import ping
from config.asgi import application

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_channel_layer_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert all(body[part]["ok"] for part in ("database", "channel_layer", "broker"))
    assert "detail" not in body["database"]


def test_healthz_reports_a_broken_part_as_503_with_details_for_staff_only(client, db, monkeypatch, researcher):
    from accounts import health

    def broken():
        raise ConnectionError("broker down at redis.internal:6379")

    monkeypatch.setattr(health, "_broker", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert b"redis.internal" not in response.content
    client.force_login(researcher)
    detailed = client.get("/healthz").json()
    assert detailed["broker"]["detail"] == "ConnectionError: broker down at redis.internal:6379"


def test_task_runs_through_celery(db):
    assert ping.delay("x").get(timeout=10) == "pong:x"




@pytest.mark.django_db(transaction=True)
async def test_ping_socket_echoes_through_the_channel_layer(participant):
    # Authenticate the way a browser does: with a session cookie.
    from asgiref.sync import sync_to_async
    from django.test import Client

    browser = Client()
    await sync_to_async(browser.force_login)(participant)
    cookie = browser.cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application, "/ws/ping/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data=json.dumps({"n": 1}))
    assert json.loads(await communicator.receive_from(timeout=5)) == {"type": "pong", "payload": {"n": 1}}
    await communicator.send_to(text_data="{bad json")
    assert json.loads(await communicator.receive_from(timeout=5))["error"] == "Invalid JSON."
    await communicator.send_to(text_data="x" * 10_000)
    assert "larger than" in json.loads(await communicator.receive_from(timeout=5))["error"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_anonymous_ping_socket_is_closed_with_4401():
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")])
    connected, _ = await communicator.connect()
    assert connected
    assert json.loads(await communicator.receive_from(timeout=5))["error"] == "Log in first."
    assert (await communicator.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}


async def test_socket_from_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected


def _manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(env_extra)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={"DJANGO_ENV": "production", "SECRET_KEY": "p" * 20 + "roduction-secret-key-abcdefghijklmnopqrstuvwxyz0123", "ALLOWED_HOSTS": "attune.example.org"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", env_extra={"DJANGO_ENV": "production", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_demo_users_are_refused_without_debug():
    result = _manage("load_demo", "--users-only", env_extra={"DEBUG": "0", "DATABASE_URL": "sqlite:///:memory:"})
    assert result.returncode != 0
    assert "only loaded when DEBUG is on" in result.stderr
