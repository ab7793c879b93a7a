"""HTTP under ASGI with one hand-off per request: Django's sync handler in a fixed thread pool.

Why (issue 16, measured with py-spy): Django's own ASGIHandler runs the middleware chain in
async mode. Every middleware that is sync-only or built on MiddlewareMixin (all of Django's,
WhiteNoise, allauth) is then called through `sync_to_async` (about 15 sync<->async hand-offs
per request), each sync view once more, and every request gets a fresh thread, so the event
loop was the bottleneck while the database sat idle, and persistent database connections
would leak one per request.

This handler keeps the ASGI server (uvicorn: websockets, lifespan, HTTP/1.1 keep-alive) and
serves each HTTP request as a WSGI server would: the body is read on the event loop, then the
whole request (request_started, middleware, view, request_finished) runs in one call on one
thread of a fixed pool of `threads` threads. One hand-off in, the answer back; each pool
thread keeps its own database connection, so CONN_MAX_AGE > 0 is safe and saves a connect per
request. Streaming responses (static and media files) are read chunk by chunk in the pool.

Async views still work (Django adapts them with async_to_sync, as under WSGI); the project's
views are sync. Websockets never come here: Channels serves them on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

logger = logging.getLogger(__name__)


class PooledHTTPHandler(ASGIHandler):
    """Django's ASGI request/response plumbing around its *sync* handler, run in a thread pool."""

    def __init__(self, *, threads: int = 8):
        base.BaseHandler.__init__(self)  # not ASGIHandler.__init__: that builds the async chain
        self.load_middleware(is_async=False)
        self.threads = threads
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"PooledHTTPHandler serves HTTP only, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, self._respond, scope, body_file)
        try:
            if response.streaming:
                await self._send_streaming(response, send, loop)
            else:
                await self.send_response(response, send)
        except OSError:  # the client went away while we answered: nothing to tell anyone
            logger.debug("client disconnected during the response")
        finally:
            if response.streaming:
                await loop.run_in_executor(self.executor, self._finish, response, body_file)

    def _respond(self, scope, body_file) -> HttpResponseBase:
        """Runs in a pool thread: what a WSGI server's worker thread does for one request."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            # The body is in memory: finish now, in this thread, so request_finished closes
            # (or keeps, per CONN_MAX_AGE) this thread's database connections.
            self._finish(response, body_file)
        return response

    @staticmethod
    def _finish(response: HttpResponseBase, body_file) -> None:
        try:
            response.close()  # sends request_finished
        finally:
            body_file.close()

    async def _send_streaming(self, response, send, loop) -> None:
        headers = [
            (name.encode("ascii") if isinstance(name, str) else name, value.encode("latin1"))
            for name, value in response.items()
        ]
        headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip()) for c in response.cookies.values()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        if response.is_async:
            async for part in response:
                for chunk, _ in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            parts = iter(response)
            while (part := await loop.run_in_executor(self.executor, next, parts, None)) is not None:
                for chunk, _ in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
