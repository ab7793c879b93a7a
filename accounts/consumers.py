"""An authenticated ping/echo websocket: proves websockets, auth and the channel layer work.

Like every socket: logged-in users only, within the per-account and per-address limits, and
closed when the browser session that opened it logs out (accounts/sockets.py)."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from accounts import sockets

CLOSE_UNAUTHENTICATED = 4401
MAX_MESSAGE_BYTES = 4096


class PingConsumer(AsyncWebsocketConsumer):
    group_name = "ping"

    async def connect(self):
        self.slot = None
        self.groups_joined: list[str] = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_UNAUTHENTICATED, "Log in first.")
            return
        self.slot, why = await sockets.slot_take(user_id=user.pk, ip=sockets.client_ip(self.scope))
        if self.slot is None:
            await self._refuse(sockets.CLOSE_TOO_MANY, why)
            return
        session_key = getattr(self.scope.get("session"), "session_key", None)
        for group in (self.group_name, *([sockets.session_group_name(session_key)] if session_key else [])):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()

    async def _refuse(self, code: int, message: str):
        await self.accept()
        await self.send(json.dumps({"type": "error", "error": message, "close_code": code}))
        await self.close(code=code)

    async def disconnect(self, code):
        await sockets.slot_release(getattr(self, "slot", None))
        self.slot = None
        if self.channel_layer is not None:
            for group in getattr(self, "groups_joined", []):
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw) > MAX_MESSAGE_BYTES:
            await self.send(json.dumps({"type": "error", "error": f"Message larger than {MAX_MESSAGE_BYTES} bytes."}))
            return
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            await self.send(json.dumps({"type": "error", "error": "Invalid JSON."}))
            return
        # The echo goes out through the channel layer, so a reply proves the layer works.
        await self.channel_layer.send(self.channel_name, {"type": "ping.echo", "payload": message})

    async def ping_echo(self, event):
        await self.send(json.dumps({"type": "pong", "payload": event["payload"]}))

    async def session_ended(self, event):
        await self.send(json.dumps({"type": "error", "error": "You logged out.", "close_code": CLOSE_UNAUTHENTICATED}))
        await self.close(code=CLOSE_UNAUTHENTICATED)
