"""ASGI entry point: HTTP through Django's sync handler in a thread pool, websockets through
Channels, worker start-up through lifespan. Served by `python -m config.serve` (uvicorn workers,
one SO_REUSEPORT socket each; see platform/README.md).

HTTP: `config.sync_http.PooledHTTPHandler` runs each request's middleware and view in one call
on one of ATTUNE_HTTP_THREADS (default 8) threads that keep their database connection; Django's
async-mode ASGIHandler (ATTUNE_HTTP_HANDLER=django, kept for bench/events.py's comparison row)
hands off between the event loop and threads about 15 times per request.

Lifespan (uvicorn sends it once per worker process, before the worker accepts connections):
the webcam's expression network is loaded then (LiteRT, no TensorFlow; see emotion/expression_model.py),
so the first frame on a fresh worker is answered in milliseconds rather than after a model
load. daphne does not send lifespan events; there the model loads on the first webcam socket.

Websocket routing is imported only after Django is set up.
"""

import asyncio
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from config import conf  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.sync_http import PooledHTTPHandler  # noqa: E402
from config.websocket_origin import SameOriginWebsocketValidator  # noqa: E402
from emotion.inference_pool import warm_up as warm_up_webcam_model  # noqa: E402

HTTP_HANDLERS = ("pooled", "django")


def http_application():
    kind = conf.HTTP_HANDLER
    if kind == "django":
        return ASGIHandler()
    if kind != "pooled":
        raise ValueError(f"ATTUNE_HTTP_HANDLER={kind!r}; expected one of {', '.join(HTTP_HANDLERS)}")
    return PooledHTTPHandler(threads=conf.HTTP_THREADS)


async def lifespan(scope, receive, send):
    """ASGI lifespan: what a worker does once when it starts (and nothing when it stops)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await asyncio.get_running_loop().run_in_executor(None, warm_up_webcam_model)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": http_application(),
        "websocket": SameOriginWebsocketValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)
