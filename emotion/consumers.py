"""The webcam websocket, ws/emotion/: frames in, expression probabilities out.

Protocol (everything the server sends is a JSON text message with a "type"):

- connect: only a logged-in user with the `webcam_inference` consent, from a page of Attune's own
  origin (config/websocket_origin.py), within the socket limits per account and per address
  (accounts/sockets.py). Anyone else is accepted, told why ({"type": "error", "code":
  "unauthenticated" | "no_consent" | "too_many_sockets", ...}) and closed with 4401 (not logged
  in), 4403 (consent off) or 4429 (over a limit). Revoking the consent later closes the socket
  with 4410 within a second (accounts.services announces it on the user's consent group);
  logging out closes every socket of that browser session with 4401.
- binary message = one JPEG, PNG or WebP frame (at most ATTUNE_FER_MAX_FRAME_BYTES).
  Answer: {"type": "result", "frame": n, "faces": [{"box": {x, y, w, h}, "probabilities":
  {7 expressions}, "dominant": ...}], "dominant", "valence", "arousal", "stable": {label,
  valence, arousal, probabilities}, "processing_ms", "inference_ms", "width", "height",
  "dropped": {"rate": ..., "busy": ...}}. No face: "faces": [] and nulls. `n` counts every
  binary message the socket received, dropped or not, so a client can match replies.
- a frame that is not a usable image gets {"type": "error", "code": "bad_frame" |
  "frame_too_large" | "empty_frame", "frame": n, "error": message}; the socket stays open.
- rate: at most ATTUNE_FER_MAX_FPS frames a second are analysed (token bucket, burst of 2).
  Excess frames are dropped; while a frame is being analysed only the newest waiting frame is
  kept ("latest frame wins"), so nothing queues without bound. Drops are announced with
  {"type": "dropped", "reason": "rate" | "busy", "count": k} at most twice a second, and the
  running totals ride on every result.
- text messages: {"type": "attach", "session": ref} / {"type": "detach"} (per-second
  aggregates for a listening session, see emotion/signals.py), {"type": "reset"} (forget the
  moving average), {"type": "ping"} (answered with {"type": "pong", "frames": received so far,
  "dropped": totals}). Invalid JSON, unknown types and text over 4 KB get an error.

Inference runs in one process-wide thread pool of ATTUNE_FER_MAX_CONCURRENT threads (OpenCV
and the TFLite interpreter release the GIL), so the event loop never blocks and the number of
concurrent inferences per server process is bounded whatever the number of sockets. Sockets
take turns for the pool's slots (a FIFO semaphore) and each takes its newest frame when its
turn comes, so one busy client cannot starve the rest and, when the server is saturated,
answers stay fresh while the surplus frames are dropped ("busy") rather than queued. Frames
live only in memory for the time of one analysis: nothing is written to disk or database.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import Callable

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts import sockets
from accounts.selectors import has_consent
from accounts.services import consent_group_name
from emotion import conf, faces, fer, smoothing
from emotion.inference_pool import get_engine
from emotion.vocab import FER, fer_to_va

logger = logging.getLogger(__name__)

# --- the trace sink -------------------------------------------------------------------------
# Once per second of analysed frames, while the client has named a listening session over the
# socket ({"type": "attach", "session": "<reference>"}; {"type": "detach"} stops it) and the
# user has the `emotion_trace` consent, the consumer hands the second's aggregate
# (emotion.smoothing.SecondAggregate.as_dict(): second, frames, frames_with_face,
# mean_probabilities, valence, arousal, stable_label; never a frame) to the sink.
# config/wiring.py installs studies.listening's trace service as the sink (emotion sits below
# studies and cannot import it); the service checks the session and the consent, once.
TraceSink = Callable[..., object]
_trace_sink: TraceSink | None = None


def install_trace_sink(sink: TraceSink | None) -> TraceSink | None:
    """Set fn(*, user, session_ref, aggregate) (config/wiring.py). Returns the sink it replaces."""
    global _trace_sink
    previous, _trace_sink = _trace_sink, sink
    return previous


CLOSE_UNAUTHENTICATED = 4401
CLOSE_NO_CONSENT = 4403
CLOSE_CONSENT_REVOKED = 4410
MAX_TEXT_BYTES = 4096
NOTICE_INTERVAL_S = 0.5
BURST_FRAMES = 2.0
SESSION_REF = re.compile(r"^[A-Za-z0-9_:\-]{1,64}$")


def _probabilities(p) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(FER, p, strict=True)}


def result_message(
    frame_no: int, analysis: fer.FrameAnalysis, stable: smoothing.StableMood, processing_ms: float, dropped: dict[str, int]
) -> dict:
    primary = analysis.primary
    va = fer_to_va(primary.probabilities) if primary is not None else None
    return {
        "type": "result",
        "frame": frame_no,
        "width": analysis.width,
        "height": analysis.height,
        "faces": [
            {
                "box": dict(zip(("x", "y", "w", "h"), (int(v) for v in f.box), strict=True)),
                "probabilities": _probabilities(f.probabilities),
                "dominant": f.dominant,
            }
            for f in analysis.faces
        ],
        "dominant": primary.dominant if primary is not None else None,
        "valence": round(float(va[0]), 4) if va is not None else None,
        "arousal": round(float(va[1]), 4) if va is not None else None,
        "stable": {
            "label": stable.label,
            "valence": round(stable.valence, 4) if stable.label else None,
            "arousal": round(stable.arousal, 4) if stable.label else None,
            "probabilities": _probabilities(stable.probabilities) if stable.label else None,
        },
        "processing_ms": round(processing_ms, 2),
        "inference_ms": round(analysis.inference_ms, 2),
        "dropped": dict(dropped),
    }


def socket_language(scope) -> str:
    """The language of the page that opened the socket, decided as LocaleMiddleware decides for
    pages: the language switcher's cookie, else the browser's Accept-Language, else the default."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    for name, value in scope.get("headers") or []:
        if name.lower() == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


def _in_socket_language(handler):
    """Run a consumer's handler with its socket's language active, so what it says is in the
    listener's language (the first call, connect, decides the language)."""

    @functools.wraps(handler)
    async def speaking(self, *args, **kwargs):
        if getattr(self, "language", None) is None:
            self.language = socket_language(self.scope)
        with translation.override(self.language):
            return await handler(self, *args, **kwargs)

    return speaking


def close_reason(message) -> str:
    """A websocket close reason is at most 123 bytes of UTF-8: cut the message at a character."""
    return str(message).encode("utf-8")[:120].decode("utf-8", errors="ignore")


@database_sync_to_async
def _has_consent(user, purpose: str) -> bool:

    return has_consent(user, purpose)


class EmotionConsumer(AsyncWebsocketConsumer):
    @_in_socket_language
    async def connect(self):
        self.closed = False
        self.group = None
        self.slot = None
        self.session_group = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, "unauthenticated", _("Log in to use the webcam mood check."))
            return
        if not await _has_consent(user, "webcam_inference"):
            await self._refuse(
                CLOSE_NO_CONSENT,
                "no_consent",
                _("Webcam inference is off in your consent settings; turn it on to use the camera."),
            )
            return
        self.slot, why = await sockets.slot_take(user_id=user.pk, ip=sockets.client_ip(self.scope))
        if self.slot is None:
            await self._refuse(sockets.CLOSE_TOO_MANY, "too_many_sockets", why)
            return
        self.user = user
        self.engine = get_engine()
        self.group = consent_group_name(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            self.session_group = sockets.session_group_name(session_key)
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        self.frame_no = 0
        self.tokens = BURST_FRAMES
        self.rate = conf.MAX_FPS
        self.refilled_at = time.monotonic()
        self.worker: asyncio.Task | None = None
        self.pending: tuple[int, bytes, float] | None = None
        self.dropped = {"rate": 0, "busy": 0}
        self.unannounced = {"rate": 0, "busy": 0}
        self.last_notice = 0.0
        self.buffer = smoothing.StabilizationBuffer(tau_s=conf.SMOOTHING_TAU, hold_s=conf.HOLD_SECONDS)
        self.aggregator = smoothing.SecondAggregator()
        self.tracker = faces.FaceTracker()  # searches near the last face; whole-frame scans now and then
        self.session_ref: str | None = None
        self.trace = False
        await self.accept()
        # Load the model now, off the loop, so the first frame does not pay for it.
        asyncio.get_running_loop().run_in_executor(self.engine.executor, self.engine.model)

    async def _refuse(self, code: int, slug: str, message: str):
        self.closed = True
        await self.accept()
        await self.send(json.dumps({"type": "error", "code": slug, "error": str(message), "close_code": code}))
        await self.close(code=code, reason=close_reason(message))

    async def disconnect(self, code):
        await sockets.slot_release(getattr(self, "slot", None))
        self.slot = None
        for group in (getattr(self, "group", None), getattr(self, "session_group", None)):
            if group and self.channel_layer is not None:
                await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "closed", True) is False:
            self.closed = True
            await self._emit_aggregate(self.aggregator.flush() if self.trace else None)
        self.pending = None

    # ------------------------------------------------------------------ inbound

    @_in_socket_language
    async def receive(self, text_data=None, bytes_data=None):
        if self.closed:
            return
        if bytes_data is not None:
            await self._frame(bytes_data)
        else:
            await self._text(text_data or "")

    async def _frame(self, data: bytes):
        self.frame_no += 1
        n = self.frame_no
        received = time.perf_counter()
        if not data:
            await self._error("empty_frame", _("Empty frame."), frame=n)
            return
        limit = self.engine.max_bytes
        if len(data) > limit:
            await self._error(
                "frame_too_large",
                _("Frame of %(size)d bytes is larger than the limit of %(limit)d bytes.") % {"size": len(data), "limit": limit},
                frame=n,
            )
            return
        now = time.monotonic()
        self.tokens = min(BURST_FRAMES, self.tokens + (now - self.refilled_at) * self.rate)
        self.refilled_at = now
        if self.tokens < 1.0:
            await self._drop("rate")
            return
        self.tokens -= 1.0
        if self.pending is not None:
            await self._drop("busy")
        self.pending = (n, data, received)  # latest frame wins
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._work())

    async def _work(self):
        """Analyse this socket's newest frame whenever a server-wide slot is free.

        A socket waits for a slot (FIFO, so sockets take turns) without holding a frame: when
        its turn comes it takes the newest frame it has, so under overload answers stay fresh
        and the surplus is dropped (and counted) instead of piling up in the pool's queue.
        """
        loop = asyncio.get_running_loop()
        slots = self.engine.slots(loop)
        while self.pending is not None and not self.closed:
            async with slots:
                if self.pending is None or self.closed:
                    return
                (n, data, received), self.pending = self.pending, None
                try:
                    analysis = await loop.run_in_executor(self.engine.executor, self.engine.analyze, data, self.tracker)
                    error = None
                except faces.FrameError as exc:
                    error = ("bad_frame", str(exc))
                except Exception:
                    logger.exception("Expression inference failed")
                    error = ("inference_failed", _("The frame could not be analysed."))
                del data
            if error is not None:
                await self._error(*error, frame=n)
            else:
                await self._result(n, analysis, received)

    async def _result(self, n: int, analysis: fer.FrameAnalysis, received: float):
        if self.closed:
            return
        now = time.time()
        primary = analysis.primary
        stable = self.buffer.update(primary.probabilities, now) if primary is not None else self.buffer.current()
        processing_ms = (time.perf_counter() - received) * 1000
        await self.send(json.dumps(result_message(n, analysis, stable, processing_ms, self.dropped)))
        if self.trace:
            done = self.aggregator.add(now, primary.probabilities if primary is not None else None, stable.label)
            await self._emit_aggregate(done)

    async def _text(self, raw: str):
        if len(raw.encode("utf-8")) > MAX_TEXT_BYTES:
            await self._error("too_large", _("Text messages are limited to %(limit)d bytes.") % {"limit": MAX_TEXT_BYTES})
            return
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            await self._error("invalid_json", _("Invalid JSON."))
            return
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self._error("invalid_message", _('Send a JSON object with a "type".'))
            return
        kind = message["type"]
        if kind == "ping":
            await self.send(json.dumps({"type": "pong", "frames": self.frame_no, "dropped": self.dropped}))
        elif kind == "reset":
            self.buffer.reset()
            self.tracker = faces.FaceTracker()
            await self.send(json.dumps({"type": "reset"}))
        elif kind == "attach":
            await self._attach(message.get("session"))
        elif kind == "detach":
            await self._emit_aggregate(self.aggregator.flush() if self.trace else None)
            self.session_ref, self.trace = None, False
            await self.send(json.dumps({"type": "detached"}))
        else:
            await self._error(
                "unknown_type",
                _("Unknown message type %(kind)s; expected attach, detach, reset or ping.") % {"kind": repr(kind[:40])},
            )

    async def _attach(self, ref):
        if not isinstance(ref, str) or not SESSION_REF.match(ref):
            await self._error("invalid_session", _("session must be 1-64 letters, digits, '-', '_' or ':'."))
            return
        if self.trace and ref != self.session_ref:
            await self._emit_aggregate(self.aggregator.flush())
        self.session_ref = ref
        self.trace = await _has_consent(self.user, "emotion_trace")
        reply = {"type": "attached", "session": ref, "recording": self.trace}
        if not self.trace:
            reply["reason"] = str(_("Emotion trace consent is off: nothing from the camera is recorded for this session."))
        await self.send(json.dumps(reply))

    # ------------------------------------------------------------------ outbound

    async def _error(self, code: str, message: str, **extra):
        if not self.closed:
            await self.send(json.dumps({"type": "error", "code": code, "error": str(message), **extra}))

    async def _drop(self, reason: str):
        self.dropped[reason] += 1
        self.unannounced[reason] += 1
        now = time.monotonic()
        if now - self.last_notice >= NOTICE_INTERVAL_S:
            self.last_notice = now
            for why, count in self.unannounced.items():
                if count:
                    message = (
                        _("Frames arrive faster than %(rate)s per second; extra frames are skipped.") % {"rate": f"{self.rate:g}"}
                        if why == "rate"
                        else str(_("Still analysing the previous frame; only the newest frame is kept."))
                    )
                    await self.send(json.dumps({"type": "dropped", "reason": why, "count": count, "error": message}))
            self.unannounced = {"rate": 0, "busy": 0}

    async def _emit_aggregate(self, aggregate: smoothing.SecondAggregate | None):
        if aggregate is None or not self.session_ref:
            return
        sink = _trace_sink
        if sink is None:
            return
        try:
            await sync_to_async(sink)(user=self.user, session_ref=self.session_ref, aggregate=aggregate.as_dict())
        except Exception:  # a failing sink is logged and does not close the socket
            logger.exception("the webcam trace sink failed")

    # ------------------------------------------------------------------ channel layer

    @_in_socket_language
    async def consent_revoked(self, event):
        purpose = event.get("purpose")
        if purpose == "emotion_trace":
            self.trace = False
            self.aggregator = smoothing.SecondAggregator()
            await self.send(
                json.dumps(
                    {
                        "type": "attached",
                        "session": self.session_ref,
                        "recording": False,
                        "reason": str(_("Emotion trace consent was turned off: recording stopped.")),
                    }
                )
            )
            return
        if purpose not in (None, "webcam_inference"):
            return
        message = str(_("Webcam inference consent was turned off; the camera connection is closed."))
        await self.send(
            json.dumps(
                {"type": "error", "code": "consent_revoked", "error": message, "close_code": CLOSE_CONSENT_REVOKED}
            )
        )
        self.closed = True
        self.pending = None
        await self.close(code=CLOSE_CONSENT_REVOKED, reason=close_reason(message))

    @_in_socket_language
    async def session_ended(self, event):
        """The browser session that opened this socket logged out (accounts/sockets.py)."""
        message = str(_("You logged out; the camera connection is closed."))
        await self.send(
            json.dumps({"type": "error", "code": "logged_out", "error": message, "close_code": CLOSE_UNAUTHENTICATED})
        )
        self.closed = True
        self.pending = None
        await self.close(code=CLOSE_UNAUTHENTICATED, reason=close_reason(message))
