"""The bad-input battery (issue 13): every JSON write endpoint, fed malformed, hostile and
mistyped bodies, answers a clear 4xx with a JSON message and stores nothing.

Defect 5 reproduced here: deeply nested JSON (RecursionError in the parser), `1e999` in an
event payload, a huge integer in `exclude_ids`, and a huge session id in the events URL all gave
a 500 on today's main; a body over the size limit got an HTML 400 instead of the JSON 413.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.utils import timezone

from accounts.models import ConsentEvent
from recommender.models import Playlist
from studies.listening.models import ListeningSession, PlaybackEvent
from studies.surveys.models import Rating

HOLE = "__HOLE__"


def _endpoints(world) -> list[tuple[str, str, dict]]:
    """(method, url, a valid body) for every JSON write endpoint of the API."""
    session, survey, track = world["session"], world["survey"], world["tracks"][0]
    queue_track = session.queue.order_by("position").first()
    event = {"event_id": str(uuid.uuid4()), "kind": "started", "track_id": queue_track.track_id, "position": 0,
             "seconds_played": 0.0, "occurred_at": timezone.now().isoformat(), "payload": {"note": "x"}}
    return [
        ("patch", "/api/me/consents/", {"webcam_inference": True}),
        ("post", "/api/playlists/", {"strategy": "iso", "start": {"emotion": "sadness"},
                                     "target": {"emotion": "peacefulness"}, "n_tracks": 5, "exclude_ids": [1]}),
        ("post", f"/api/surveys/{survey.pk}/ratings/", {"client_id": str(uuid.uuid4()), "track_id": track.pk,
                                                        "picks": ["sadness"], "liking": 3, "familiarity": 2,
                                                        "listened_seconds": 12.0}),
        ("post", f"/api/surveys/{survey.pk}/skip/", {"track_id": track.pk}),
        ("post", "/api/sessions/", {"current": {"valence": -0.2, "arousal": 0.1}, "length_tracks": 3}),
        ("post", f"/api/sessions/{session.pk}/events/", event),
        ("post", f"/api/sessions/{session.pk}/events/", {"events": [event]}),
        ("post", f"/api/sessions/{session.pk}/complete/", {"post": {"valence": 0.3, "arousal": 0.2},
                                                           "reflection_rating": 4, "reflection_text": "ok"}),
    ]


WHOLE_BODIES: dict[str, str | bytes] = {
    "nested list x1000": "[" * 1000 + "]" * 1000,
    "nested object x1000": '{"a":' * 1000 + "1" + "}" * 1000,
    "nested x100000": "[" * 100_000 + "]" * 100_000,
    "1e999": '{"x": 1e999}',
    "NaN": '{"x": NaN}',
    "Infinity": '{"x": -Infinity}',
    "huge integer": '{"x": 1' + "0" * 40 + "}",
    "5000-digit integer": "1" * 5000,
    "not JSON": "{not json",
    "invalid UTF-8": b'{"x": "\xff\xfe"}',
    "empty": "",
    "array": "[]",
    "string": '"x"',
    "number": "42",
    "null": "null",
    "unicode controls": json.dumps({"x": "\u0000\u202e\u200b\ud800"}),
}
FIELD_VALUES: dict[str, str] = {
    "1e999": "1e999",
    "NaN": "NaN",
    "huge int": "1" + "0" * 30,
    "negative huge int": "-1" + "0" * 30,
    "nested": "[" * 500 + "]" * 500,
    "list": "[]",
    "object": '{"a": [1, {"b": null}]}',
    "string": '"\\u0000\\u202eabc"',  # a NUL: PostgreSQL stores it neither in text nor in jsonb
    "long string": json.dumps("x" * 100_000),
    "null": "null",
    "bool": "true",
}

# No database column can hold these, wherever they appear: they must be refused, not stored.
NEVER_ACCEPTED = {"1e999", "NaN", "huge int", "negative huge int", "nested", "string"}  # "string" holds a NUL


def _counts() -> tuple[int, ...]:
    return (Rating.objects.count(), PlaybackEvent.objects.count(), ListeningSession.objects.count(),
            Playlist.objects.count(), ConsentEvent.objects.count())


def _send(client, method: str, url: str, body: str | bytes):
    return getattr(client, method)(url, data=body, content_type="application/json")


def _check(response, label: str, before, failures: list[str]) -> None:
    if response.status_code >= 500:
        failures.append(f"{label}: {response.status_code}")
    elif response.status_code >= 400:
        if not response["Content-Type"].startswith("application/json") or not response.json():
            failures.append(f"{label}: {response.status_code} without a JSON message")
        elif _counts() != before:
            failures.append(f"{label}: {response.status_code} but something was stored")


@pytest.mark.django_db
def test_whole_body_battery_on_every_json_write_endpoint(world, suite_report):
    client, failures, requests = world["client"], [], 0
    for method, url, _valid in _endpoints(world):
        for name, body in WHOLE_BODIES.items():
            before = _counts()
            response = _send(client, method, url, body)
            requests += 1
            if response.status_code < 400:
                failures.append(f"{method.upper()} {url} [{name}]: accepted with {response.status_code}")
            _check(response, f"{method.upper()} {url} [{name}]", before, failures)
    suite_report(f"bad-input battery, whole bodies: {requests} requests, {len(failures)} failures")
    assert failures == []


@pytest.mark.django_db
def test_field_battery_on_every_json_write_endpoint(world, suite_report):
    """Each field of a valid body replaced by each hostile value (raw JSON text, so 1e999 and
    NaN reach the parser as a client would send them)."""
    client, failures, requests = world["client"], [], 0
    for method, url, valid in _endpoints(world):
        paths = [(key,) for key in valid]
        if "events" in valid:
            paths = [("events", 0, key) for key in valid["events"][0]] + [("events", 0, "payload", "x")]
        elif "payload" in valid:
            paths.append(("payload", "x"))
        for path in paths:
            for name, raw in FIELD_VALUES.items():
                body = json.loads(json.dumps(valid))
                target = body
                for step in path[:-1]:
                    target = target[step]
                target[path[-1]] = HOLE
                text = json.dumps(body).replace(json.dumps(HOLE), raw)
                before = _counts()
                response = _send(client, method, url, text)
                requests += 1
                label = f"{method.upper()} {url} {'.'.join(map(str, path))}=[{name}]"
                if name in NEVER_ACCEPTED and response.status_code < 400:
                    failures.append(f"{label}: accepted with {response.status_code}")
                _check(response, label, before, failures)
    suite_report(f"bad-input battery, fields: {requests} requests, {len(failures)} failures")
    assert failures == []


@pytest.mark.django_db
def test_the_four_reported_500s_are_4xx(world):
    client, session = world["client"], world["session"]
    before = _counts()
    deep = "[" * 1000 + "]" * 1000
    assert _send(client, "post", f"/api/sessions/{session.pk}/events/", deep).status_code == 400
    event = _endpoints(world)[5][2]
    text = json.dumps({**event, "payload": {"x": HOLE}}).replace(json.dumps(HOLE), "1e999")
    answer = _send(client, "post", f"/api/sessions/{session.pk}/events/", text)
    assert answer.status_code == 400 and "1e999" in answer.json()["detail"]
    body = json.dumps({"strategy": "iso", "start": {"emotion": "sadness"}, "n_tracks": 5, "exclude_ids": [HOLE]})
    answer = _send(client, "post", "/api/playlists/", body.replace(json.dumps(HOLE), "9" * 25))
    assert answer.status_code == 400
    huge = 10**30
    answer = _send(client, "post", f"/api/sessions/{huge}/events/", json.dumps(event))
    assert answer.status_code == 404 and answer.json() == {"detail": "Not found."}
    assert _counts() == before


@pytest.mark.django_db
def test_huge_ids_in_any_url_are_404_not_500(world):
    client = world["client"]
    for url in ("/api/sessions/99999999999999999999999/", "/api/playlists/99999999999999999999999/",
                "/playlists/99999999999999999999999/", "/tracks/99999999999999999999999/audio",
                "/api/surveys/99999999999999999999999/next/"):
        assert client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_a_body_over_the_limit_gets_the_json_413(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    client, session = world["client"], world["session"]
    body = json.dumps({"current": {"valence": 0.1, "arousal": 0.1}, "padding": "x" * 30_000})
    for method, url in (("post", "/api/sessions/"), ("patch", "/api/me/consents/"), ("post", "/api/playlists/"),
                        ("post", f"/api/sessions/{session.pk}/complete/")):
        answer = _send(client, method, url, body)
        assert answer.status_code == 413, url
        assert answer["Content-Type"] == "application/json" and "limit is 20000 bytes" in answer.json()["detail"]
    page = client.post("/settings/", data=body, content_type="application/json")
    assert page.status_code == 413 and page["Content-Type"].startswith("text/plain")


def test_the_nul_character_is_refused_before_it_reaches_postgresql():
    """PostgreSQL's text and jsonb cannot hold U+0000; found by the battery on PostgreSQL."""
    from config.api_parsers import strict_loads

    for text in ('{"note": "a\\u0000b"}', '{"k\\u0000": 1}', '[["\\u0000"]]'):
        with pytest.raises(ValueError, match="NUL character"):
            strict_loads(text)
    assert strict_loads('{"note": "a\\\\u0000b"}') == {"note": "a\\u0000b"}  # an escaped backslash is text
