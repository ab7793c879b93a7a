"""Dashboard panels contributed by apps, per role.

`accounts` cannot import the apps above it, so each app registers its panels in
`AppConfig.ready()`:

    dashboard.register(Panel(key="persona", roles=("participant",),
                             template="recommender/panels/persona.html",
                             context=lambda request: {...}))

A panel whose context function raises is shown as unavailable instead of breaking the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Panel:
    key: str
    roles: tuple[str, ...]
    template: str
    context: Callable[..., dict[str, Any]]
    order: int = 100
    needs_sharing: bool = False  # client panels only: shown while therapist_sharing is on


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.key] = panel


def panels_for(request) -> list[dict[str, Any]]:
    role = request.user.role
    rendered = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key)):
        if role not in panel.roles:
            continue
        try:
            context = panel.context(request)
            ok = True
        except Exception:
            logger.exception("Dashboard panel %s failed", panel.key)
            context, ok = {}, False
        rendered.append({"key": panel.key, "template": panel.template, "context": context, "ok": ok})
    return rendered


# Panels on a therapist's page for one client (sessions, outcomes, assignments), contributed
# by the apps that own that data. Their context function receives (request, link) and is
# only called for an active link. Panels that show the client's sessions set
# `needs_sharing=True` and are then only called while the client's `therapist_sharing`
# consent is on: the rule is enforced here, once, not left to each panel.
_client_panels: dict[str, Panel] = {}


def register_client_panel(panel: Panel) -> None:
    _client_panels[panel.key] = panel


def client_panels_for(request, link) -> list[dict[str, Any]]:
    from accounts.selectors import is_linked, therapist_may_see_sessions

    if not is_linked(therapist=request.user, client=link.client):
        return []
    sharing = therapist_may_see_sessions(therapist=request.user, client=link.client)
    rendered = []
    for panel in sorted(_client_panels.values(), key=lambda p: (p.order, p.key)):
        if panel.needs_sharing and not sharing:
            continue
        try:
            context, ok = panel.context(request, link), True
        except Exception:
            logger.exception("Client panel %s failed", panel.key)
            context, ok = {}, False
        rendered.append({"key": panel.key, "template": panel.template, "context": context, "ok": ok})
    return rendered
