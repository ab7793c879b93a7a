"""The authorization walk (issue 13): every URL pattern in the URLconf (pages, API, admin,
allauth) x every role (anonymous, participant, therapist, researcher) x read and write methods,
with every id in the path pointing at an object owned by someone else (the victim). Three
things must hold for every request: no 5xx, no trace of the victim's private data in the
answer, and none of the victim's rows changed by anyone's request."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User

SAMPLE = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.uuid4()), "path": "x"}
# Routes that end the walker's own log-in (walked last, once per role, by the logout test).
SESSION_ENDING = ("accounts/logout/",)
ROLES = ("anonymous", "participant", "therapist", "researcher")
API_WRITES = ("put", "patch", "delete")


def _walk(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def all_routes() -> list[str]:
    routes = sorted(set(_walk(get_resolver().url_patterns)))
    return [r for r in routes if not r.lstrip("^").startswith(("static/", *SESSION_ENDING))]


def _model_of_admin_route(route: str):
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    try:
        return apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None


def _victims_row(model, victim) -> str | None:
    """The pk of one row of `model` that belongs to the victim (a user FK, or one hop away)."""
    if model is User:
        return str(victim.pk)
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model is User:
            row = model.objects.filter(**{field.name: victim}).values_list("pk", flat=True).first()
            if row is not None:
                return str(row)
    for field in model._meta.concrete_fields:
        if field.is_relation and field.related_model is not None:
            for inner in field.related_model._meta.concrete_fields:
                if inner.is_relation and inner.related_model is User:
                    row = model.objects.filter(**{f"{field.name}__{inner.name}": victim}).values_list("pk", flat=True).first()
                    if row is not None:
                        return str(row)
    return None


def _concrete(route: str, ids: dict[str, str], victim) -> str:
    route = route.lstrip("^").rstrip("$")
    admin_model = _model_of_admin_route(route)

    def fill(match):
        converter, name = match.group(1) or "str", match.group(2)
        if name == "object_id" and admin_model is not None:
            return _victims_row(admin_model, victim) or str(victim.pk)
        if name in ids:
            return ids[name]
        return ids["__int__"] if converter == "int" else SAMPLE.get(converter, "x")

    route = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # regex routes (allauth)
    return "/" + route.replace("\\", "").replace("^", "").replace("$", "")


@pytest.fixture
def victim_world(make_user, django_capture_on_commit_callbacks):
    """The victim: a participant with data in every app, linked to their own therapist."""
    import numpy as np

    from emotion.vocab import va_to_gems
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set
    from studies.listening.mood import MoodInput
    from studies.listening.services.sessions import session_start
    from therapy.assignments import Schedule, assignment_create_curated
    from therapy.links import invite_accept, invite_create, note_add

    victim = make_user(username="victim-person", research_data=True, webcam_inference=True, emotion_trace=True,
                       therapist_sharing=True)
    victim.email = "victim.person@example.org"
    victim.save(update_fields=["email"])
    rng = np.random.default_rng(1)
    va = rng.uniform(-0.9, 0.9, size=(12, 2))
    tracks = [Track.objects.create(title=f"Walk {i}", artist="A", duration_s=60.0, external_id=f"walk-{i}",
                                   valence=float((v + 1) / 2), energy=float((a + 1) / 2)) for i, (v, a) in enumerate(va)]
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    session = session_start(
        user=victim, current=MoodInput.from_dict({"valence": -0.4, "arousal": -0.2}),
        desired=MoodInput.from_dict({"valence": 0.5, "arousal": 0.3}), length_tracks=3, length_minutes=None,
        strategy="iso",
    )
    session.reflection_text = "victim-secret-reflection"
    session.save(update_fields=["reflection_text"])
    session.playlist.title = "victim-secret-playlist"
    session.playlist.save(update_fields=["title"])
    own_therapist = make_user("therapist", username="victims-own-therapist")
    link = invite_accept(client=victim, code=invite_create(therapist=own_therapist).code)
    note_add(therapist=own_therapist, client=victim, text="victim-secret-note")
    assignment = assignment_create_curated(
        therapist=own_therapist, client=victim, track_ids=[tracks[0].pk, tracks[1].pk], instructions="victim-secret-task",
        schedule=Schedule(due_date=timezone.localdate() + timedelta(days=3)),
    )
    ids = {
        "__int__": str(victim.pk), "pk": str(victim.pk), "playlist_id": str(session.playlist_id),
        "session_id": str(session.pk), "link_id": str(link.pk), "assignment_id": str(assignment.pk),
        "occurrence_id": str(assignment.occurrences.first().pk), "track_id": str(tracks[0].pk),
    }
    return victim, ids


def _secrets(victim, role: str) -> list[bytes]:
    private = [victim.username, victim.email, "victim-secret-note", "victim-secret-task"]
    if role != "researcher":  # researchers read consenting people's sessions (with their free text), by code only
        private += [victim.participant_code, "victim-secret-reflection", "victim-secret-playlist"]
    return [s.encode() for s in private]


def _victims_rows(victim) -> str:
    """A fingerprint of every row that belongs to the victim (a user FK, or one hop away)."""
    parts = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                rows = model.objects.filter(**{field.name: victim}).order_by("pk").values()
                parts.append(f"{model._meta.label}.{field.name}={list(rows)}")
    for label, lookup in (("listening.PlaybackEvent", "session__user"), ("listening.PlannedTrack", "session__user"),
                          ("recommender.PlaylistItem", "playlist__owner"),
                          ("therapy.AssignmentOccurrence", "assignment__client")):
        model = apps.get_model(label)
        parts.append(f"{label}={list(model.objects.filter(**{lookup: victim}).order_by('pk').values())}")
    text = "\n".join(parts).replace(str(victim.last_login), "")
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("role", ROLES)
def test_every_route_every_method_no_500_no_leak_no_foreign_write(client, make_user, victim_world, role, settings,
                                                                  suite_report):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
    victim, ids = victim_world
    if role != "anonymous":
        client.force_login(make_user(role, username=f"curious-{role}"))
    before = _victims_rows(victim)
    secrets = _secrets(victim, role)
    failures, statuses = [], Counter()
    for route in all_routes():
        url = _concrete(route, ids, victim)
        methods = ["get", "post"] + (list(API_WRITES) if url.startswith("/api/") else [])
        for method in methods:
            response = getattr(client, method)(url, content_type="application/json") if method in API_WRITES \
                else getattr(client, method)(url)
            statuses[response.status_code // 100 * 100] += 1
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} -> {response.status_code}")
            leaked = [s.decode() for s in secrets if s in body]
            if leaked:
                failures.append(f"{method.upper()} {url} ({response.status_code}) shows {leaked}")
    suite_report(f"authorization walk as {role}: {len(all_routes())} routes, {sum(statuses.values())} requests "
          f"{dict(sorted(statuses.items()))}, {len(failures)} failures")
    assert failures == []
    assert _victims_rows(victim) == before, f"a request as {role} changed the victim's data"


def test_the_walk_covers_pages_api_admin_and_allauth():
    routes = all_routes()
    assert {"api/me/", "dashboard/", "healthz", "admin/", "accounts/login/"} <= set(routes)
    assert any(r.startswith("admin/listening/") for r in routes) and len(routes) > 200


@pytest.mark.parametrize("role", ROLES)
def test_logout_route_answers_every_role(client, make_user, role):
    if role != "anonymous":
        client.force_login(make_user(role, username=f"leaving-{role}"))
    for method in ("get", "post"):
        assert client.generic(method.upper(), "/accounts/logout/").status_code < 500
