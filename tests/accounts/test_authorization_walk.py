"""Walk every URL in the URLconf as anonymous and as a participant: no 500, and no data of
another person in any response. Parameterised routes are filled with the ids of objects that
belong to someone else, so a missing ownership check shows up here."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

SKIP_PREFIXES = ("admin/", "static/", "media/", "accounts/")  # admin and allauth have their own tests
SAMPLE = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.uuid4()), "path": "x"}


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def _concrete(route: str, ids: dict[str, str]) -> str:
    route = route.lstrip("^").rstrip("$")

    def fill(match):
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "int" and name in ids:
            return ids[name]
        return ids.get("__int__", "1") if converter == "int" else SAMPLE.get(converter, "x")

    route = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # regex routes
    return "/" + route.replace("\\", "")


def all_routes() -> list[str]:
    routes = sorted(set(_walk(get_resolver().url_patterns)))
    return [r for r in routes if not r.lstrip("^").startswith(SKIP_PREFIXES)]


@pytest.fixture
def victim(make_user):
    return make_user(
        username="victim-person",
        research_data=True,
        webcam_inference=True,
        emotion_trace=True,
        therapist_sharing=True,
    )


def _secrets(victim) -> list[bytes]:
    return [victim.username.encode(), victim.participant_code.encode()]


@pytest.mark.parametrize("as_user", ["anonymous", "participant"])
def test_every_url_answers_without_500_or_leaks(client, make_user, victim, as_user):
    if as_user == "participant":
        client.force_login(make_user(username="curious-person"))
    # Ids that point at the victim's own rows, whatever they are: the victim's user id, and 1.
    ids = {"__int__": str(victim.pk), "pk": str(victim.pk), "user_id": str(victim.pk)}
    failures = []
    for route in all_routes():
        url = _concrete(route, ids)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} -> {response.status_code}")
            elif any(secret in body for secret in _secrets(victim)):
                failures.append(f"{method.upper()} {url} leaks another person's data")
    assert failures == []


def test_the_walk_covers_the_api_and_pages():
    routes = all_routes()
    assert "api/me/" in routes and "dashboard/" in routes and "healthz" in routes
