"""An authenticated ping/echo websocket: proves websockets, auth and the channel layer work."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer

CLOSE_UNAUTHENTICATED = 4401
MAX_MESSAGE_BYTES = 4096


class PingConsumer(AsyncWebsocketConsumer):
    group_name = "ping"

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.send(json.dumps({"type": "error", "error": "Log in first."}))
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.channel_layer is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

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
