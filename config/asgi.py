"""ASGI entry point: HTTP through Django, websockets through Channels, worker start-up through lifespan.

Websocket routing is imported only after get_asgi_application() has set Django up.

Lifespan (uvicorn sends it once per worker process, before the worker accepts connections):
the webcam's expression network is loaded then (LiteRT, no TensorFlow; see emotion/fer.py),
so the first frame on a fresh worker is answered in milliseconds rather than after a model
load. daphne does not send lifespan events; there the model loads on the first webcam socket.
"""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from config.websocket_origin import SameOriginWebsocketValidator  # noqa: E402
from emotion.consumers import warm_up as warm_up_webcam_model  # noqa: E402


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
        "http": django_asgi_app,
        "websocket": SameOriginWebsocketValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)
