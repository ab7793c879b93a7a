"""Role-aware navigation for the base template."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: tuple[str, ...] = ("participant", "therapist", "researcher")
    staff_only: bool = False


# Apps add items here as their pages appear; missing URL names are skipped, never a 500.
# The most used first: on a phone the navigation is one row that scrolls sideways, and the
# first items are the ones on screen.
NAV_ITEMS: list[NavItem] = [
    NavItem(_("Dashboard"), "dashboard"),
    NavItem(_("Listen"), "listening:session-new", roles=("participant",)),
    NavItem(_("History"), "listening:session-history", roles=("participant",)),
    NavItem(_("Playlists"), "recommender:playlist-new"),
    NavItem(_("Mood check"), "emotion:mood-check", roles=("participant",)),
    NavItem(_("Surveys"), "surveys:survey-list", roles=("participant",)),
    NavItem(_("Clients"), "therapy:therapist-clients", roles=("therapist",)),
    NavItem(_("Research admin"), "admin:index", roles=("researcher",), staff_only=True),
    NavItem(_("Settings"), "settings"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in NAV_ITEMS:
        if user.role not in item.roles or (item.staff_only and not user.is_staff):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": request.path == url})
    return {"nav_items": items}
