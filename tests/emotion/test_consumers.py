"""The webcam websocket through the real ASGI application (session cookie -> AuthMiddlewareStack)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from emotion import consumers, inference_pool
from emotion import expression_model as network
from emotion.vocab import FER

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _shared_model(settings, expression_model, tflite_cache):
    settings.ATTUNE_FER_TFLITE_CACHE = str(tflite_cache)
    settings.ATTUNE_FER_MODEL = ""
    settings.ATTUNE_FER_BACKEND = "auto"


def _cookie(user) -> str:
    """A real session cookie (logged in through Django's session machinery), made in a thread
    because tests build communicators inside the event loop."""

    def login():
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(login).result()


def communicator(user=None, cookie: str | None = None, extra_headers=(), extra_cookies: str = "") -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), *extra_headers]
    cookies = [f"sessionid={cookie or _cookie(user)}"] if user is not None or cookie is not None else []
    if extra_cookies:
        cookies.append(extra_cookies)
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode()))
    return WebsocketCommunicator(application, "/ws/emotion/", headers=headers)


async def receive_json(comm, timeout=5.0) -> dict:
    return json.loads(await comm.receive_from(timeout=timeout))


async def receive_until(comm, kind: str, timeout=5.0) -> dict:
    """Next message of type `kind`, skipping drop notices."""
    deadline = time.monotonic() + timeout
    while True:
        message = await receive_json(comm, timeout=max(0.05, deadline - time.monotonic()))
        if message["type"] == kind:
            return message


def run(coro_fn, *args):
    return async_to_sync(coro_fn)(*args)


@pytest.fixture
def viewer(make_user):
    return make_user(webcam_inference=True)


class TestWorkerStart:
    """uvicorn's lifespan startup loads the network before the worker takes its first connection."""

    @staticmethod
    def _start_worker() -> dict:
        from asgiref.testing import ApplicationCommunicator

        from config.asgi import application

        async def scenario():
            comm = ApplicationCommunicator(application, {"type": "lifespan", "asgi": {"version": "3.0"}})
            await comm.send_input({"type": "lifespan.startup"})
            message = await comm.receive_output(timeout=120)
            await comm.send_input({"type": "lifespan.shutdown"})
            await comm.receive_output(timeout=5)
            return message

        return run(scenario)

    def test_startup_loads_the_model_into_every_pool_thread(self, settings, monkeypatch):
        settings.ATTUNE_FER_MAX_CONCURRENT = 3  # a fresh engine, so nothing was loaded before
        warmed = []
        original = network.ExpressionModel.warm_up
        monkeypatch.setattr(
            network.ExpressionModel, "warm_up", lambda model: (warmed.append(threading.get_ident()), original(model))
        )
        assert self._start_worker() == {"type": "lifespan.startup.complete"}
        engine = inference_pool.get_engine()
        assert len(set(warmed)) == 3  # each pool thread built and ran its interpreter
        assert {t.ident for t in engine.executor._threads} == set(warmed)
        assert engine.model().backend == "tflite"

    def test_startup_without_preload_loads_nothing(self, settings):
        settings.ATTUNE_FER_MAX_CONCURRENT = 5
        settings.ATTUNE_FER_PRELOAD = False
        before = set(inference_pool._engines)
        assert self._start_worker() == {"type": "lifespan.startup.complete"}
        assert set(inference_pool._engines) == before

    def test_a_broken_model_does_not_stop_the_worker(self, settings, tmp_path):
        (tmp_path / "broken.tflite").write_bytes(b"not a flatbuffer")
        settings.ATTUNE_FER_MODEL = str(tmp_path / "broken.tflite")
        settings.ATTUNE_FER_MAX_CONCURRENT = 6
        assert self._start_worker() == {"type": "lifespan.startup.complete"}  # HTTP still served


class TestWhoMayConnect:
    def test_anonymous_socket_is_closed_with_4401(self):
        async def scenario():
            comm = communicator()
            connected, _ = await comm.connect()
            assert connected
            message = await receive_json(comm)
            assert message["code"] == "unauthenticated" and "Log in" in message["error"]
            closed = await comm.receive_output(timeout=2)
            assert closed == {"type": "websocket.close", "code": 4401, "reason": message["error"][:120]}
            await comm.disconnect()

        run(scenario)

    def test_socket_without_consent_is_closed_with_4403(self, make_user):
        user = make_user(emotion_trace=True)  # trace alone is not enough

        async def scenario():
            comm = communicator(user)
            await comm.connect()
            message = await receive_json(comm)
            assert message["code"] == "no_consent" and "consent" in message["error"]
            closed = await comm.receive_output(timeout=2)
            assert closed["type"] == "websocket.close" and closed["code"] == 4403
            await comm.disconnect()

        run(scenario)

    def test_inactive_user_with_consent_is_refused(self, viewer):
        viewer.is_active = False
        viewer.save(update_fields=["is_active"])

        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            assert (await receive_json(comm))["code"] == "unauthenticated"
            await comm.disconnect()

        run(scenario)


class TestInference:
    def test_astronaut_frame_gives_the_full_reply(self, viewer, astronaut_jpeg):
        async def scenario():
            comm = communicator(viewer)
            connected, _ = await comm.connect()
            assert connected
            await comm.send_to(bytes_data=astronaut_jpeg)
            reply = await receive_until(comm, "result")
            assert reply["frame"] == 1 and (reply["width"], reply["height"]) == (320, 240)
            [face] = reply["faces"]
            assert set(face["box"]) == {"x", "y", "w", "h"} and face["box"]["w"] > 40
            assert list(face["probabilities"]) == list(FER)
            assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
            assert face["dominant"] == reply["dominant"] == "happy"
            assert reply["valence"] > 0.7 and -1 <= reply["arousal"] <= 1
            assert reply["stable"]["label"] == "happy" and reply["stable"]["valence"] > 0.7
            assert 0 < reply["inference_ms"] <= reply["processing_ms"]
            assert reply["dropped"] == {"rate": 0, "busy": 0}
            await comm.disconnect()

        run(scenario)

    def test_no_face_is_an_empty_list_and_tiny_image_is_fine(self, viewer, blank_jpeg, tiny_png):
        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            await comm.send_to(bytes_data=blank_jpeg)
            reply = await receive_until(comm, "result")
            assert reply["faces"] == [] and reply["dominant"] is None and reply["valence"] is None
            assert reply["stable"]["label"] is None
            await asyncio.sleep(0.45)
            await comm.send_to(bytes_data=tiny_png)
            reply = await receive_until(comm, "result")
            assert reply["faces"] == [] and (reply["width"], reply["height"]) == (10, 10)
            await comm.disconnect()

        run(scenario)

    def test_five_faces(self, viewer, five_faces_jpeg):
        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            await comm.send_to(bytes_data=five_faces_jpeg)
            reply = await receive_until(comm, "result")
            assert len(reply["faces"]) == 5
            assert {f["dominant"] for f in reply["faces"]} == {"happy"}
            await comm.disconnect()

        run(scenario)


class TestBadInput:
    def test_bad_frames_get_errors_and_the_socket_stays_open(self, viewer, astronaut_jpeg, png_bomb):
        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            await comm.send_to(bytes_data=np.random.default_rng(0).bytes(4000))
            error = await receive_until(comm, "error")
            assert error["code"] == "bad_frame" and error["frame"] == 1 and "JPEG" in error["error"]

            await comm.send_input({"type": "websocket.receive", "bytes": b""})  # send_to refuses empty frames
            error = await receive_until(comm, "error")
            assert error["code"] == "empty_frame" and error["frame"] == 2

            await comm.send_to(bytes_data=b"\xff\xd8" + b"\x00" * (10 * 1024 * 1024))
            error = await receive_until(comm, "error")
            assert error["code"] == "frame_too_large" and "524288" in error["error"]

            await asyncio.sleep(0.45)
            await comm.send_to(bytes_data=png_bomb)
            error = await receive_until(comm, "error")
            assert error["code"] == "bad_frame" and "exceeds the limit" in error["error"]

            await asyncio.sleep(0.45)
            await comm.send_to(bytes_data=astronaut_jpeg)  # still serving
            reply = await receive_until(comm, "result")
            assert reply["dominant"] == "happy"
            await comm.disconnect()

        run(scenario)

    def test_text_messages(self, viewer):
        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            cases = [
                ("{not json", "invalid_json"),
                ("[1, 2]", "invalid_message"),
                ('{"type": 5}', "invalid_message"),
                ('{"type": "shout"}', "unknown_type"),
                (json.dumps({"type": "ping", "pad": "x" * 5000}), "too_large"),
                ('{"type": "attach", "session": "../../etc"}', "invalid_session"),
                ('{"type": "attach"}', "invalid_session"),
            ]
            for text, code in cases:
                await comm.send_to(text_data=text)
                assert (await receive_json(comm))["code"] == code, text
            await comm.send_to(text_data='{"type": "ping"}')
            assert (await receive_json(comm)) == {"type": "pong", "frames": 0, "dropped": {"rate": 0, "busy": 0}}
            await comm.send_to(text_data='{"type": "reset"}')
            assert (await receive_json(comm)) == {"type": "reset"}
            await comm.disconnect()

        run(scenario)

    def test_100_frames_a_second_are_rate_limited_not_queued(self, viewer, settings, blank_jpeg):
        settings.ATTUNE_FER_MAX_FPS = 5

        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            start = time.monotonic()
            for _ in range(100):
                await comm.send_to(bytes_data=blank_jpeg)
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - start
            messages = []
            while not await comm.receive_nothing(timeout=1.0):  # (a receive timeout would kill the app)
                messages.append(await receive_json(comm))
            results = [m for m in messages if m["type"] == "result"]
            notices = [m for m in messages if m["type"] == "dropped"]
            # Token bucket: burst of 2 plus 5 per second.
            assert 1 <= len(results) <= 2 + 5 * elapsed + 1
            assert notices and notices[0]["reason"] == "rate" and "5 per second" in notices[0]["error"]
            assert len(notices) <= 2 * elapsed + 2  # notices are themselves rate limited
            # nothing waits: the socket answers at once afterwards, and every frame is accounted for
            await comm.send_to(text_data='{"type": "ping"}')
            pong = await receive_until(comm, "pong", timeout=1.0)
            assert pong["frames"] == 100
            assert len(results) + pong["dropped"]["rate"] + pong["dropped"]["busy"] == 100
            await comm.disconnect()

        run(scenario)

    def test_a_flooding_client_does_not_starve_another(self, make_user, astronaut_jpeg):
        flooder, other = make_user(webcam_inference=True), make_user(webcam_inference=True)

        async def scenario():
            a, b = communicator(flooder), communicator(other)
            await a.connect()
            await b.connect()
            for _ in range(100):
                await a.send_to(bytes_data=astronaut_jpeg)
            await b.send_to(bytes_data=astronaut_jpeg)
            reply = await receive_until(b, "result", timeout=10)
            assert reply["frame"] == 1 and reply["dominant"] == "happy"
            await a.send_to(text_data='{"type": "ping"}')
            pong = await receive_until(a, "pong", timeout=10)
            assert pong["frames"] == 100 and pong["dropped"]["rate"] >= 90
            await a.disconnect()
            await b.disconnect()

        run(scenario)

    def test_latest_frame_wins_while_busy(self, viewer, settings, astronaut_jpeg, blank_jpeg, monkeypatch):
        settings.ATTUNE_FER_MAX_FPS = 1000
        engine = inference_pool.get_engine()
        real = engine.analyze

        def slow(data, tracker=None):
            time.sleep(0.3)
            return real(data, tracker)

        monkeypatch.setattr(engine, "analyze", slow)

        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            await comm.send_to(bytes_data=blank_jpeg)  # 1: analysed
            await asyncio.sleep(0.05)
            await comm.send_to(bytes_data=blank_jpeg)  # 2: waits, then replaced
            await asyncio.sleep(0.05)
            await comm.send_to(bytes_data=astronaut_jpeg)  # 3: replaces 2 (latest wins)
            messages = [await receive_json(comm) for _ in range(3)]
            notice = next(m for m in messages if m["type"] == "dropped")
            first, second = (m for m in messages if m["type"] == "result")
            assert first["frame"] == 1 and second["frame"] == 3
            assert notice["reason"] == "busy" and second["dropped"]["busy"] == 1
            assert second["dominant"] == "happy"
            await comm.disconnect()

        run(scenario)


class TestConsentRevocation:
    def test_revoking_webcam_consent_pushes_a_close_without_any_client_message(self, viewer, astronaut_jpeg):
        """The revocation is pushed through the channel layer the moment it commits (no polling,
        no waiting for the next frame), which is what makes "closes within a second" hold. The
        generous timeout only guards against a loaded test machine; speed is not asserted here."""
        from accounts.services import consent_set

        async def scenario():
            comm = communicator(viewer)
            await comm.connect()
            await comm.send_to(bytes_data=astronaut_jpeg)
            await receive_until(comm, "result")
            await database_sync_to_async(consent_set)(user=viewer, purpose="webcam_inference", granted=False)
            message = await receive_until(comm, "error", timeout=10.0)
            assert message["code"] == "consent_revoked" and message["close_code"] == 4410
            closed = await comm.receive_output(timeout=10.0)
            assert closed["type"] == "websocket.close" and closed["code"] == 4410
            await comm.send_to(bytes_data=astronaut_jpeg)  # ignored after the close
            assert await comm.receive_nothing(timeout=0.3)
            await comm.disconnect()

        run(scenario)

    def test_revoking_trace_consent_stops_recording_but_keeps_the_camera(self, make_user, astronaut_jpeg):
        from accounts.services import consent_set

        user = make_user(webcam_inference=True, emotion_trace=True)
        received = []

        def listener(*, user, session_ref, aggregate):
            received.append(aggregate)

        previous = consumers.install_trace_sink(listener)
        try:

            async def scenario():
                comm = communicator(user)
                await comm.connect()
                await comm.send_to(text_data='{"type": "attach", "session": "s-1"}')
                assert (await receive_json(comm))["recording"] is True
                await database_sync_to_async(consent_set)(user=user, purpose="emotion_trace", granted=False)
                message = await receive_until(comm, "attached", timeout=1.0)
                assert message["recording"] is False
                await comm.send_to(bytes_data=astronaut_jpeg)
                assert (await receive_until(comm, "result"))["dominant"] == "happy"
                await comm.send_to(text_data='{"type": "detach"}')
                await receive_until(comm, "detached")
                await comm.disconnect()

            run(scenario)
        finally:
            consumers.install_trace_sink(previous)
        assert received == []


class TestSessionAggregates:
    def test_attached_session_gets_per_second_aggregates(self, make_user, astronaut_jpeg, blank_jpeg):
        user = make_user(webcam_inference=True, emotion_trace=True)
        received = []

        def listener(*, user, session_ref, aggregate):
            received.append((user.pk, session_ref, aggregate))

        previous = consumers.install_trace_sink(listener)
        try:

            async def scenario():
                comm = communicator(user)
                await comm.connect()
                await comm.send_to(text_data='{"type": "attach", "session": "session:42"}')
                assert (await receive_json(comm)) == {"type": "attached", "session": "session:42", "recording": True}
                await comm.send_to(bytes_data=astronaut_jpeg)
                await receive_until(comm, "result")
                await asyncio.sleep(0.3)
                await comm.send_to(bytes_data=blank_jpeg)
                await receive_until(comm, "result")
                await comm.send_to(text_data='{"type": "detach"}')  # flushes the open second
                await receive_until(comm, "detached")
                await comm.disconnect()

            run(scenario)
        finally:
            consumers.install_trace_sink(previous)
        assert received, "no aggregate was sent"
        assert {r[0] for r in received} == {user.pk} and {r[1] for r in received} == {"session:42"}
        total = sum(r[2]["frames"] for r in received)
        with_face = sum(r[2]["frames_with_face"] for r in received)
        assert total == 2 and with_face == 1
        happy = [r[2] for r in received if r[2]["frames_with_face"]]
        assert happy[0]["mean_probabilities"]["happy"] > 0.9 and happy[0]["valence"] > 0.7
        assert happy[0]["stable_label"] == "happy"

    def test_no_aggregates_without_trace_consent_or_session(self, viewer, astronaut_jpeg):
        received = []

        def listener(**kwargs):
            received.append(kwargs)

        previous = consumers.install_trace_sink(listener)
        try:

            async def scenario():
                comm = communicator(viewer)
                await comm.connect()
                await comm.send_to(bytes_data=astronaut_jpeg)  # no session named
                await receive_until(comm, "result")
                await comm.send_to(text_data='{"type": "attach", "session": "s-2"}')
                reply = await receive_json(comm)
                assert reply["recording"] is False and "consent is off" in reply["reason"]
                await asyncio.sleep(0.3)
                await comm.send_to(bytes_data=astronaut_jpeg)
                await receive_until(comm, "result")
                await comm.disconnect()

            run(scenario)
        finally:
            consumers.install_trace_sink(previous)
        assert received == []


class TestTheSocketSpeaksThePagesLanguage:
    """What the socket says reaches the listener's page (issue 14's Norwegian, issue 16's socket)."""

    def test_the_browsers_language_when_nobody_chose_one(self):
        async def scenario():
            comm = communicator(extra_headers=[(b"accept-language", b"nb-NO,nb;q=0.9,en;q=0.5")])
            await comm.connect()
            message = await receive_json(comm)
            assert message["code"] == "unauthenticated" and message["error"].startswith("Logg inn")
            closed = await comm.receive_output(timeout=2)
            assert len(closed["reason"].encode("utf-8")) <= 123 and closed["reason"].startswith("Logg inn")
            await comm.disconnect()

        run(scenario)

    def test_the_language_switchers_choice_wins(self, make_user):
        user = make_user()  # no webcam consent

        async def scenario():
            comm = communicator(user, extra_headers=[(b"accept-language", b"en")], extra_cookies="django_language=nb")
            await comm.connect()
            message = await receive_json(comm)
            assert message["code"] == "no_consent" and "samtykkeinnstillingene" in message["error"]
            await comm.disconnect()

        run(scenario)

    def test_later_messages_too(self, make_user, settings):
        user = make_user(webcam_inference=True)

        async def scenario():
            comm = communicator(user, extra_cookies="django_language=nb")
            await comm.connect()
            await comm.send_to(text_data='{"type": "attach", "session": "s-3"}')
            reply = await receive_json(comm)
            assert reply["recording"] is False and reply["reason"].startswith("Samtykket til følelsesspor er av")
            await comm.send_to(text_data="{not json")
            assert (await receive_json(comm))["error"] == "Ugyldig JSON."
            await comm.send_to(text_data="x" * 5000)
            assert (await receive_json(comm))["error"].startswith("Tekstmeldinger kan være høyst")
            await comm.disconnect()

        run(scenario)

    def test_english_by_default(self):
        async def scenario():
            comm = communicator()
            await comm.connect()
            assert (await receive_json(comm))["error"] == "Log in to use the webcam mood check."
            await comm.disconnect()

        run(scenario)

    @pytest.mark.parametrize("text", ["å" * 200, "x" * 119 + "ø" * 5, "plain"])
    def test_a_close_reason_fits_the_protocols_123_bytes(self, text):
        reason = consumers.close_reason(text)
        assert len(reason.encode("utf-8")) <= 123 and text.startswith(reason) and reason


class TestFramesLeaveNoTrace:
    def test_frames_never_touch_disk_or_database(self, viewer, astronaut_jpeg, settings, tmp_path):
        """An audit hook sees every file opened for writing while frames are analysed; the
        database's row counts are the same before and after."""
        from django.apps import apps

        def row_counts():
            return {m._meta.label: m.objects.count() for m in apps.get_models()}

        writes = []
        watching = {"on": False}

        def hook(event, args):
            if not watching["on"]:
                return
            if event == "open" and len(args) >= 3:
                path, mode, flags = args[0], args[1], args[2]
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
                )
                if writing:
                    writes.append(str(path))
            elif event in ("os.rename", "os.replace", "shutil.copyfile", "sqlite3.connect"):
                writes.append(f"{event}:{args[0]}")

        sys.addaudithook(hook)  # cannot be removed: it is inert once `watching` is off
        watching["on"] = True  # the hook does see writes:
        (tmp_path / "probe.txt").write_text("x")
        watching["on"] = False
        assert writes == [str(tmp_path / "probe.txt")]
        writes.clear()
        cookie = _cookie(viewer)  # logging in writes a session row: do it before counting
        before = async_to_sync(database_sync_to_async(row_counts))()

        async def scenario():
            comm = communicator(cookie=cookie)
            await comm.connect()
            watching["on"] = True
            for _ in range(3):
                await comm.send_to(bytes_data=astronaut_jpeg)
                assert (await receive_until(comm, "result"))["dominant"] == "happy"
                await asyncio.sleep(0.4)
            watching["on"] = False
            await comm.disconnect()

        run(scenario)
        after = async_to_sync(database_sync_to_async(row_counts))()
        assert writes == []
        assert before == after


class TestServerWideBound:
    def test_at_most_the_configured_number_of_inferences_run_at_once(
        self, make_user, settings, astronaut_jpeg, monkeypatch
    ):
        import threading

        settings.ATTUNE_FER_MAX_CONCURRENT = 2
        users = [make_user(webcam_inference=True) for _ in range(6)]
        engine = inference_pool.get_engine()
        assert engine.executor._max_workers == 2
        real = engine.analyze
        lock = threading.Lock()
        running = {"now": 0, "max": 0}

        def counted(data, tracker=None):
            with lock:
                running["now"] += 1
                running["max"] = max(running["max"], running["now"])
            try:
                time.sleep(0.05)
                return real(data, tracker)
            finally:
                with lock:
                    running["now"] -= 1

        monkeypatch.setattr(engine, "analyze", counted)

        async def scenario():
            comms = [communicator(u) for u in users]
            for c in comms:
                assert (await c.connect())[0]
            await asyncio.gather(*(c.send_to(bytes_data=astronaut_jpeg) for c in comms))
            replies = await asyncio.gather(*(receive_until(c, "result", timeout=10) for c in comms))
            assert [r["dominant"] for r in replies] == ["happy"] * 6  # every socket got its turn
            for c in comms:
                await c.disconnect()

        run(scenario)
        assert running["max"] == 2
