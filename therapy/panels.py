"""Therapy's panels: "Assigned to you" on a client's dashboard (registered in
TherapyConfig.ready()), and the panels of a therapist's page for one client, listed here in
the order they show. A client panel that shows the client's sessions sets `needs_sharing` and
is then only called while the client's `therapist_sharing` consent is on: the rule is
enforced here, once, not left to each panel."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext

from accounts.dashboard import Panel
from recommender.explain import strategy_label
from studies.plots import MoodPath, mood_path_plot
from therapy.plots import shift_series_svg
from therapy.selectors import (
    assignment_rows,
    client_outcomes,
    is_linked,
    occurrences_open_for,
    occurrences_upcoming_for,
    outcomes_summary,
    therapist_may_see_sessions,
)

logger = logging.getLogger(__name__)


def therapist_assignments_panel(request, link) -> dict:
    sharing = therapist_may_see_sessions(therapist=request.user, client=link.client)
    rows = assignment_rows(therapist=request.user, client=link.client)
    return {
        "key": "assignments",
        "sharing": sharing,
        "rows": [
            {
                **r,
                "cancel_url": reverse("therapy:assignment-cancel", args=[r["assignment"].pk]),
                "strategy_label": strategy_label(r["assignment"].strategy) if r["assignment"].strategy else "",
            }
            for r in rows
        ],
        "new_generated_url": reverse("therapy:assignment-new", args=[link.pk]) + "?kind=generated",
        "new_curated_url": reverse("therapy:assignment-new", args=[link.pk]) + "?kind=curated",
    }


def client_assigned_panel(request) -> dict:
    return {
        "key": "assigned",
        "open": list(occurrences_open_for(client=request.user)[:10]),
        "upcoming": list(occurrences_upcoming_for(client=request.user)[:5]),
    }


def therapist_outcomes_panel(request, link) -> dict:
    rows = client_outcomes(therapist=request.user, client=link.client)
    if rows is None:
        raise PermissionDenied(gettext("Not sharing."))
    recent = [r for r in rows if r.session.post_valence is not None][-6:]
    paths_svg = ""
    if recent:
        paths_svg = mood_path_plot(
            [
                MoodPath(
                    label=f"{r.session.created_at:%d %b %H:%M}",
                    pre=(r.session.pre_valence, r.session.pre_arousal),
                    post=(r.session.post_valence, r.session.post_arousal),
                    target=(r.session.target_valence, r.session.target_arousal),
                )
                for r in recent
            ],
            title="Mood paths of the latest finished sessions",
        )
    return {
        "key": "outcomes",
        "rows": list(reversed(rows))[:20],
        "summary": outcomes_summary(rows),
        "shift_svg": shift_series_svg(rows),
        "paths_svg": paths_svg,
        "csv_url": reverse("therapy:client-outcomes-csv", args=[link.pk]),
    }


# The client's dashboard panel (a participant's "Assigned to you").
CLIENT_DASHBOARD_PANEL = Panel(
    key="assigned",
    roles=("participant",),
    template="therapy/assignments/panel_client.html",
    context=client_assigned_panel,
)

# The therapist's page for one client, in this order: assignments, then (only while sharing) outcomes.
CLIENT_PANELS: tuple[Panel, ...] = (
    Panel(
        key="assignments",
        roles=("therapist",),
        template="therapy/assignments/panel_therapist.html",
        context=therapist_assignments_panel,
    ),
    Panel(
        key="outcomes",
        roles=("therapist",),
        template="therapy/assignments/panel_outcomes.html",
        context=therapist_outcomes_panel,
        needs_sharing=True,
    ),
)


def client_panels_for(request, link, panels: Sequence[Panel] = CLIENT_PANELS) -> list[dict[str, Any]]:
    """The panels of the therapist's page for this client, each called with (request, link) and
    only for an active link. A panel whose context function raises shows as unavailable."""
    if not is_linked(therapist=request.user, client=link.client):
        return []
    sharing = therapist_may_see_sessions(therapist=request.user, client=link.client)
    rendered = []
    for panel in panels:
        if panel.needs_sharing and not sharing:
            continue
        try:
            context, ok = panel.context(request, link), True
        except Exception:
            logger.exception("Client panel %s failed", panel.key)
            context, ok = {}, False
        rendered.append({"key": panel.key, "template": panel.template, "context": context, "ok": ok})
    return rendered
