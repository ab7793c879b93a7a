"""Defect 7 of issue 13: websocket abuse.

On today's main one account could hold 200 webcam sockets (another user's answer time went
from under 75 ms to seconds), a socket outlived its log-out and kept being answered, and the
Origin check compared host names only (any port, any scheme). Now: caps per account and per
client address, sockets closed at log-out, and Origin compared by scheme, host and port.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_model_load(monkeypatch, settings):
    """These tests send no frames: keep the consumer from loading the expression network."""
    from emotion import inference_pool

    monkeypatch.setattr(inference_pool.InferenceEngine, "model", lambda self: None)
    settings.ATTUNE_WS_MAX_PER_USER = 3
    settings.ATTUNE_WS_MAX_PER_IP = 5


def _browser(user) -> Client:
    def login():
        client = Client()
        client.force_login(user)
        return client

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(login).result()


def _socket(path: str, *, cookie: str | None = None, origin: bytes = b"http://testserver",
            host: bytes = b"testserver", ip: str = "192.0.2.10", scheme: str = "ws") -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"host", host)]
    if origin:
        headers.append((b"origin", origin))
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    comm.scope["client"] = (ip, 50000)
    comm.scope["scheme"] = scheme
    return comm


async def _outcome(comm) -> tuple[bool, dict | None, int | None]:
    """(accepted, first message if refused, close code if refused)."""
    connected, _ = await comm.connect(timeout=5)
    if not connected:
        return False, None, None
    if await comm.receive_nothing(timeout=0.3):
        return True, None, None
    message = json.loads(await comm.receive_from(timeout=2))
    closing = await comm.receive_output(timeout=2)
    return False, message, closing.get("code")


def test_one_account_cannot_hold_more_than_its_sockets(make_user):
    hog = make_user(username="socket-hog", webcam_inference=True)
    other = make_user(username="other-viewer", webcam_inference=True)
    hog_cookie = _browser(hog).cookies["sessionid"].value
    other_cookie = _browser(other).cookies["sessionid"].value

    async def scenario():
        held = []
        for i in range(3):
            comm = _socket("/ws/emotion/", cookie=hog_cookie, ip=f"198.51.100.{i}")
            assert (await _outcome(comm))[0]
            held.append(comm)
        refused = _socket("/ws/emotion/", cookie=hog_cookie, ip="198.51.100.99")
        accepted, message, code = await _outcome(refused)
        assert not accepted and code == 4429 and message["code"] == "too_many_sockets"
        # Another person is not affected by the hog's limit.
        theirs = _socket("/ws/emotion/", cookie=other_cookie, ip="203.0.113.1")
        assert (await _outcome(theirs))[0]
        # Closing one socket frees its place.
        await held.pop().disconnect()
        again = _socket("/ws/emotion/", cookie=hog_cookie, ip="198.51.100.98")
        assert (await _outcome(again))[0]
        for comm in [*held, theirs, again]:
            await comm.disconnect()

    async_to_sync(scenario)()


def test_one_address_cannot_hold_more_than_its_sockets(make_user):
    people = [make_user(username=f"shared-net-{i}", webcam_inference=True) for i in range(6)]
    cookies = [_browser(p).cookies["sessionid"].value for p in people]

    async def scenario():
        held = []
        for cookie in cookies[:5]:
            comm = _socket("/ws/ping/", cookie=cookie, ip="203.0.113.77")
            assert (await _outcome(comm))[0]
            held.append(comm)
        accepted, message, code = await _outcome(_socket("/ws/ping/", cookie=cookies[5], ip="203.0.113.77"))
        assert not accepted and code == 4429 and "network address" in message["error"]
        assert (await _outcome(_socket("/ws/ping/", cookie=cookies[5], ip="203.0.113.78")))[0]
        for comm in held:
            await comm.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("path", ["/ws/emotion/", "/ws/ping/"])
def test_logging_out_closes_the_sessions_sockets(make_user, path):
    person = make_user(username="leaving-soon", webcam_inference=True)
    browser = _browser(person)
    cookie = browser.cookies["sessionid"].value

    async def scenario():
        comm = _socket(path, cookie=cookie)
        assert (await _outcome(comm))[0]
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(browser.post, "/accounts/logout/").result()
        assert answer.status_code == 302
        message = json.loads(await comm.receive_from(timeout=3))
        closing = await comm.receive_output(timeout=3)
        assert message["type"] == "error" and closing["type"] == "websocket.close" and closing["code"] == 4401
        # A new socket with the old cookie is refused: the session is gone.
        accepted, _, code = await _outcome(_socket(path, cookie=cookie))
        assert not accepted and code == 4401

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    "origin, host, scheme, allowed",
    [
        (b"http://testserver", b"testserver", "ws", True),
        (b"http://testserver:80", b"testserver", "ws", True),
        (b"https://testserver", b"testserver", "wss", True),
        (b"http://testserver:8081", b"testserver", "ws", False),   # another program's port
        (b"http://testserver", b"testserver:8000", "ws", False),
        (b"http://testserver", b"testserver", "wss", False),       # plain-http page, TLS site
        (b"https://testserver", b"testserver", "ws", False),
        (b"http://evil.example", b"testserver", "ws", False),
        (b"http://evil.example", b"evil.example", "ws", False),     # not an allowed host
        (b"null", b"testserver", "ws", False),
        (b"", b"testserver", "ws", False),                          # no Origin header at all
        (b"https://partner.example:8443", b"testserver", "ws", True),  # CSRF_TRUSTED_ORIGINS
    ],
)
def test_origin_is_checked_by_scheme_host_and_port(settings, origin, host, scheme, allowed, make_user):
    settings.CSRF_TRUSTED_ORIGINS = ["https://partner.example:8443"]
    cookie = _browser(make_user(username="origin-tester")).cookies["sessionid"].value

    async def scenario():
        comm = _socket("/ws/ping/", cookie=cookie, origin=origin, host=host, scheme=scheme)
        connected, _ = await comm.connect(timeout=5)
        await comm.disconnect()
        return connected

    assert async_to_sync(scenario)() is allowed
