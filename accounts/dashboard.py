"""Dashboard panels contributed by apps, per role.

`accounts` cannot import the apps above it, so the composition module (config/wiring.py)
installs every app's panels, in the order the dashboard shows them:

    dashboard.install([Panel(key="persona", roles=("participant",),
                             template="recommender/panels/persona.html",
                             context=lambda request: {...}), ...])

A panel whose context function raises is shown as unavailable instead of breaking the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Panel:
    key: str
    roles: tuple[str, ...]
    template: str
    context: Callable[..., dict[str, Any]]
    needs_sharing: bool = False  # therapy's client panels only: shown while therapist_sharing is on


_panels: tuple[Panel, ...] = ()


def install(panels: Sequence[Panel]) -> tuple[Panel, ...]:
    """Set the dashboard's panels, in display order (config/wiring.py). Returns the ones they replace."""
    global _panels
    previous, _panels = _panels, tuple(panels)
    return previous


def panels_for(request) -> list[dict[str, Any]]:
    role = request.user.role
    rendered = []
    for panel in _panels:
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
