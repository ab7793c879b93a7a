"""Authorization matrix over every therapist-related page (issue 7): participant, client,
therapist, other therapist and researcher (and anonymous) against the lead's three pages and
the assignment / outcomes pages. Allowed where it should be, 403 or 404 elsewhere, and never
another person's data in the body; access ends at once with the link or the sharing consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import consent_set
from therapy import links

SECRET_NOTE = "note-7f3a-private"
SECRET_REFLECTION = "reflection-9c1e-private"
ROLES = ("anonymous", "participant", "client", "therapist", "other_therapist", "researcher")


@pytest.fixture(autouse=True)
def _fresh_index(settings, tmp_path):
    from recommender import index_cache

    settings.MEDIA_ROOT = str(tmp_path / "media")
    index_cache.clear()
    yield
    index_cache.clear()


@pytest.fixture
def labelled_catalog(db):
    """40 labelled tracks spread over the valence-arousal plane."""
    import numpy as np

    from emotion.vocab import va_to_gems
    from recommender.models import Track
    from recommender.services.labels import track_labels_bulk_set

    va = np.random.default_rng(7).uniform(-0.9, 0.9, size=(40, 2))
    tracks = Track.objects.bulk_create(
        [
            Track(title=f"Piece {i}", artist=f"Composer {i % 9}", genre="classical", duration_s=120.0,
                  external_id=f"mx-{i}", valence=float((v + 1) / 2), energy=float((a + 1) / 2))
            for i, (v, a) in enumerate(va)
        ]
    )
    tracks = list(Track.objects.filter(external_id__startswith="mx-").order_by("id"))
    track_labels_bulk_set(track_ids=[t.pk for t in tracks], source="survey", gems=va_to_gems(va))
    return tracks


@pytest.fixture
def world(make_user, labelled_catalog):
    from studies.listening.mood import MoodInput
    from studies.listening.services.sessions import session_complete, session_start
    from therapy.assignments import Schedule, assignment_create_curated

    therapist = make_user("therapist", username="dr-linked")
    other = make_user("therapist", username="dr-other")
    client = make_user("participant", username="client-secret-name", therapist_sharing=True)
    participant = make_user("participant", username="plain-participant")
    researcher = make_user("researcher", username="researcher-r")
    link = links.invite_accept(client=client, code=links.invite_create(therapist=therapist).code)
    links.note_add(therapist=therapist, client=client, text=SECRET_NOTE)
    assignment = assignment_create_curated(
        therapist=therapist,
        client=client,
        track_ids=[labelled_catalog[0].pk, labelled_catalog[1].pk],
        instructions="Breathe slowly",
        schedule=Schedule(repeat="daily", start_date=timezone.localdate(), days=2),
    )
    occurrence = assignment.occurrences.order_by("due_date").first()
    session = session_start(
        user=client, current=MoodInput(valence=-0.5, arousal=0.6), desired=MoodInput(valence=0.5, arousal=-0.5),
        length_tracks=3, length_minutes=None, strategy="iso",
    )
    session_complete(
        user=client, session_id=session.pk, post=MoodInput(valence=0.1, arousal=0.0), reflection_rating=4,
        reflection_text=SECRET_REFLECTION,
    )
    users = {
        "participant": participant, "client": client, "therapist": therapist, "other_therapist": other,
        "researcher": researcher,
    }
    return {"users": users, "link": link, "assignment": assignment, "occurrence": occurrence, "client": client}


def _pages(w):
    link, a, occ = w["link"], w["assignment"], w["occurrence"]
    return {
        "clients": ("get", reverse("therapy:therapist-clients")),
        "client": ("get", reverse("therapy:therapist-client", args=[link.pk])),
        "my_therapist": ("get", reverse("therapy:my-therapist")),
        "assign_new": ("get", reverse("therapy:assignment-new", args=[link.pk]) + "?kind=curated"),
        "assign_cancel": ("post", reverse("therapy:assignment-cancel", args=[a.pk])),
        "track_search": ("get", reverse("therapy:track-search") + "?q=piece"),
        "outcomes_csv": ("get", reverse("therapy:client-outcomes-csv", args=[link.pk])),
        "assigned_start": ("get", reverse("therapy:assignment-start", args=[occ.pk])),
    }


# page -> role -> expected status (302 = sent to log in for anonymous, or a redirect after a POST)
EXPECTED = {
    "clients": {"participant": 403, "client": 403, "therapist": 200, "other_therapist": 200, "researcher": 403},
    "client": {"participant": 403, "client": 403, "therapist": 200, "other_therapist": 404, "researcher": 403},
    "my_therapist": {"participant": 200, "client": 200, "therapist": 403, "other_therapist": 403, "researcher": 403},
    "assign_new": {"participant": 403, "client": 403, "therapist": 200, "other_therapist": 404, "researcher": 403},
    "assign_cancel": {"participant": 403, "client": 403, "therapist": 302, "other_therapist": 404, "researcher": 403},
    "track_search": {"participant": 403, "client": 403, "therapist": 200, "other_therapist": 200, "researcher": 403},
    "outcomes_csv": {"participant": 403, "client": 403, "therapist": 200, "other_therapist": 404, "researcher": 403},
    "assigned_start": {"participant": 404, "client": 200, "therapist": 404, "other_therapist": 404, "researcher": 404},
}
# Pages whose allowed body legitimately names the client (to the client themself or their therapist).
MAY_SHOW_CLIENT = {("client", "therapist"), ("clients", "therapist"), ("assign_new", "therapist"),
                   ("outcomes_csv", "therapist"), ("my_therapist", "client"), ("assigned_start", "client")}


@pytest.mark.parametrize("page", list(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_matrix(client, world, page, role):
    method, url = _pages(world)[page]
    if role != "anonymous":
        client.force_login(world["users"][role])
    response = getattr(client, method)(url)
    if role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        return
    expected = EXPECTED[page][role]
    assert response.status_code == expected, (page, role, response.status_code)
    body = response.content.decode(errors="replace")
    assert SECRET_NOTE not in body or (page, role) == ("client", "therapist")
    # 403/404 pages are in the site's layout, whose header shows the viewer's own pseudonym
    own_header = role == "client" and response.status_code in (403, 404)
    if (page, role) not in MAY_SHOW_CLIENT:
        assert own_header or "client-secret-name" not in body
        assert world["client"].participant_code not in body and SECRET_REFLECTION not in body


def test_the_therapist_sees_outcomes_and_the_csv_holds_the_clients_sessions(client, world):
    client.force_login(world["users"]["therapist"])
    page = client.get(reverse("therapy:therapist-client", args=[world["link"].pk])).content.decode()
    assert 'data-testid="outcomes-table"' in page and SECRET_REFLECTION in page
    assert 'data-testid="shift-series"' in page
    csv_text = client.get(reverse("therapy:client-outcomes-csv", args=[world["link"].pk])).content.decode()
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("session_id,started_at,mode")
    assert len(lines) == 2 and SECRET_REFLECTION in lines[1]


def test_switching_sharing_off_hides_outcomes_at_once(client, world):
    consent_set(user=world["client"], purpose="therapist_sharing", granted=False)
    client.force_login(world["users"]["therapist"])
    page = client.get(reverse("therapy:therapist-client", args=[world["link"].pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert SECRET_REFLECTION not in body and 'data-testid="outcomes-table"' not in body
    assert 'data-testid="assignment-status"' not in body
    assert client.get(reverse("therapy:client-outcomes-csv", args=[world["link"].pk])).status_code == 403


def test_ending_the_link_removes_every_page_at_once(client, world):
    links.link_end(user=world["client"], link_id=world["link"].pk)
    client.force_login(world["users"]["therapist"])
    for name in ("client", "assign_new", "assign_cancel", "outcomes_csv"):
        method, url = _pages(world)[name]
        response = getattr(client, method)(url)
        assert response.status_code == 404, name
        assert SECRET_REFLECTION not in response.content.decode()
    listing = client.get(reverse("therapy:therapist-clients")).content.decode()
    assert "client-secret-name" not in listing
    client.force_login(world["client"])
    assert client.get(_pages(world)["assigned_start"][1]).status_code == 404
    assert "Breathe slowly" not in client.get(reverse("dashboard")).content.decode()


def test_a_researcher_never_sees_therapist_notes(client, world):
    client.force_login(world["users"]["researcher"])
    for url in ("/admin/", "/admin/therapy/therapistnote/", reverse("dashboard")):
        response = client.get(url)
        assert SECRET_NOTE not in response.content.decode()
    assert client.get("/admin/therapy/therapistnote/").status_code in (302, 403, 404)


def test_the_client_sees_the_assignment_on_the_dashboard_and_not_other_peoples(client, world, make_user):
    client.force_login(world["client"])
    body = client.get(reverse("dashboard")).content.decode()
    assert "Assigned to you" in body and "Breathe slowly" in body
    client.force_login(world["users"]["participant"])
    assert "Breathe slowly" not in client.get(reverse("dashboard")).content.decode()


def test_malformed_and_oversized_inputs_are_refused_without_writes(client, world):
    from therapy.models import Assignment

    client.force_login(world["users"]["therapist"])
    assert client.get(reverse("therapy:track-search") + "?q=" + "x" * 201).status_code == 400
    url = reverse("therapy:assignment-new", args=[world["link"].pk])
    before = Assignment.objects.count()
    for data in (
        {"kind": "curated", "track_ids": ["abc"], "repeat": "once", "due_date": str(timezone.localdate())},
        {"kind": "curated", "track_ids": ["999999"], "repeat": "once", "due_date": str(timezone.localdate())},
        {"kind": "curated", "track_ids": [], "repeat": "once", "due_date": str(timezone.localdate())},
        {"kind": "generated", "strategy": "iso", "length_value": "5", "length_kind": "tracks", "repeat": "once",
         "due_date": str(timezone.localdate()), "target_valence": "7", "target_arousal": "0"},
        {"kind": "generated", "strategy": "warp", "length_value": "5", "length_kind": "tracks", "repeat": "once",
         "due_date": str(timezone.localdate()), "target_valence": "0.5", "target_arousal": "0"},
        {"kind": "curated", "track_ids": [str(world["assignment"].playlist.items.first().track_id)], "repeat": "once",
         "due_date": str(timezone.localdate() - timedelta(days=2))},
        {"kind": "curated", "track_ids": [str(world["assignment"].playlist.items.first().track_id)], "repeat": "once",
         "due_date": str(timezone.localdate()), "instructions": "x" * 2001},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert 'data-testid="form-errors"' in response.content.decode() or "errorlist" in response.content.decode()
    assert Assignment.objects.count() == before
