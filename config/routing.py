"""Every websocket route, one list per app."""

from accounts.routing import websocket_urlpatterns as accounts_ws
from emotion.routing import websocket_urlpatterns as emotion_ws

websocket_urlpatterns = [*accounts_ws, *emotion_ws]
