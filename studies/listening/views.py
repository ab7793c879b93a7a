"""Pages of studies.listening: start, player, end, history; the dashboard panel context."""

from __future__ import annotations

from studies.listening import selectors


def dashboard_context(request) -> dict:
    summaries = selectors.session_history(viewer=request.user, limit=5)
    return {"sessions": summaries}
