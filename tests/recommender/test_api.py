"""POST/GET /api/playlists/: the happy path, every bad input (clear 400, nothing written), authorization."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from emotion.vocab import one_hot_gems
from recommender.models import Playlist, PlaylistItem

URL = "/api/playlists/"


def post(client, payload, raw=False):
    body = payload if raw else json.dumps(payload)
    return client.post(URL, body, content_type="application/json")


def base(**overrides):
    payload = {
        "strategy": "iso",
        "start": {"emotion": "sadness"},
        "target": {"emotion": "joyful_activation"},
        "n_tracks": 6,
    }
    payload.update(overrides)
    return payload


def test_create_iso_playlist_saves_items_with_reasons(api, labelled_catalog):
    response = post(api, base())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["strategy"] == "iso" and len(data["items"]) == 6
    playlist = Playlist.objects.get(pk=data["id"])
    assert playlist.owner == api.user and playlist.items.count() == 6
    first, last = data["items"][0], data["items"][-1]
    assert first["reason"] and first["waypoint"]["valence"] < last["waypoint"]["valence"]
    assert len({i["track"]["id"] for i in data["items"]}) == 6
    assert data["start"]["valence"] < 0 and data["target"]["valence"] > 0
    assert set(data["quality"]) >= {"smoothness", "mean_waypoint_distance"}
    assert data["links"]["csv"].endswith("export.csv")


@pytest.mark.parametrize(
    "start, target",
    [
        ({"gems": list(one_hot_gems("tension"))}, {"valence": 0.5, "arousal": -0.6}),
        ({"fer": "angry"}, {"emotion": "peacefulness"}),
        ({"valence": -0.8, "arousal": -0.4}, {"fer": "happy"}),
    ],
)
def test_states_in_every_form(api, labelled_catalog, start, target):
    response = post(api, base(start=start, target=target, n_tracks=4))
    assert response.status_code == 201, response.content


def test_same_seed_same_playlist_and_minutes_length(api, labelled_catalog):
    a = post(api, base(strategy="random", seed=7)).json()
    b = post(api, base(strategy="random", seed=7)).json()
    assert [i["track"]["id"] for i in a["items"]] == [i["track"]["id"] for i in b["items"]]
    by_minutes = post(api, base(n_tracks=None, minutes=10)).json()
    assert 1 <= len(by_minutes["items"]) <= 6  # tracks are 2 minutes long


def test_mapping_needs_no_target(api, labelled_catalog):
    response = post(api, {"strategy": "mapping", "start": {"fer": "sad"}, "n_tracks": 5})
    assert response.status_code == 201, response.content


def test_constraints_are_honoured(api, labelled_catalog):
    excluded = [t.pk for t in labelled_catalog[:30]]
    data = post(api, base(n_tracks=8, constraints={"exclude_ids": excluded, "allow_explicit": False,
                                                   "max_per_artist": 1})).json()
    ids = [i["track"]["id"] for i in data["items"]]
    assert not set(ids) & set(excluded)
    chosen = [t for t in labelled_catalog if t.pk in ids]
    assert not any(t.explicit for t in chosen)
    assert len({t.artist for t in chosen}) == len(chosen)


def test_length_beyond_eligible_catalog_returns_what_exists_and_says_so(api, labelled_catalog):
    keep = {t.pk for t in labelled_catalog if t.genre == "folk"}
    response = post(api, base(n_tracks=50, constraints={"preferred_genres": ["folk"],
                                                        "exclude_ids": [t.pk for t in labelled_catalog if t.pk not in keep]}))
    assert response.status_code == 201, response.content
    data = response.json()
    assert len(data["items"]) == len(keep) == 20
    assert data["notes"] and any("20" in note for note in data["notes"])


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (base(strategy="vibes"), "Unknown strategy"),
        (base(target={"emotion": "sadness"}), "are the same"),
        (base(start={"valence": "NaN", "arousal": 0}), "valid number"),
        (base(start={"valence": 1e999, "arousal": 0}), "not JSON compliant"),
        (base(start={"valence": 1.5, "arousal": 0}), "less than or equal to 1"),
        (base(start={"gems": [0.5] * 8}), "at least 9"),
        (base(start={"gems": [0] * 9}), "zero"),
        (base(start={"emotion": "sadness", "fer": "sad"}), "exactly one form"),
        (base(start={"valence": 0.1}), "both valence and arousal"),
        (base(start={"mood": "sad"}), "Unknown state field"),
        (base(start="sad"), "A state is an object"),
        (base(target=None), "needs a target"),
        (base(n_tracks=0), "greater than or equal to 1"),
        (base(n_tracks=10_000), "less than or equal to"),
        (base(minutes=-3, n_tracks=None), "greater than or equal"),
        (base(constraints={"exclude_ids": "all"}), "list"),
        (base(constraints={"colour": "blue"}), "Unknown constraint"),
        (base(strategy="seed_track"), "seed_track_id"),
        (base(strategy="seed_track", seed_track_id=999_999), "No track"),
        (base(strategy="gan"), "The GAN model has not been trained yet"),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(api, labelled_catalog, payload, fragment):
    response = post(api, payload)
    assert response.status_code == 400, response.content
    assert fragment in response.content.decode()
    assert not Playlist.objects.exists() and not PlaylistItem.objects.exists()


def test_nan_literal_and_malformed_json_and_non_object(api, labelled_catalog):
    body = '{"strategy": "iso", "start": {"valence": NaN, "arousal": 0}, "target": {"emotion": "wonder"}}'
    assert post(api, body, raw=True).status_code == 400
    assert post(api, "{not json", raw=True).status_code == 400
    assert post(api, "[1, 2]", raw=True).status_code == 400
    assert not Playlist.objects.exists()


def test_every_track_excluded_is_400(api, labelled_catalog):
    response = post(api, base(constraints={"exclude_ids": [t.pk for t in labelled_catalog]}))
    assert response.status_code == 400
    assert not Playlist.objects.exists()


def test_empty_catalog_is_400(api, db):
    response = post(api, base())
    assert response.status_code == 400 and "empty" in response.content.decode()


def test_anonymous_is_refused(client, labelled_catalog):
    assert post(client, base()).status_code in (401, 403)
    assert client.get(URL).status_code in (401, 403)
    assert not Playlist.objects.exists()


def test_list_and_detail_show_only_own_playlists(api, labelled_catalog, quick_user, client):
    mine = post(api, base()).json()
    listed = api.get(URL).json()
    assert [p["id"] for p in listed] == [mine["id"]] and listed[0]["track_count"] == 6
    assert api.get(f"{URL}{mine['id']}/").json()["id"] == mine["id"]
    other = quick_user()
    client.force_login(other)
    assert client.get(URL).json() == []
    assert client.get(f"{URL}{mine['id']}/").status_code == 404
    assert client.get(reverse("recommender:playlist-detail", args=[mine["id"]])).status_code == 404
    assert client.get(reverse("recommender:playlist-export", args=[mine["id"], "csv"])).status_code == 404
    assert api.get(f"{URL}999999/").status_code == 404


def test_client_profile_constraints_are_honoured(api, labelled_catalog):
    from accounts.models import ClientProfile

    ClientProfile.objects.create(user=api.user, disliked_genres=["jazz"], max_listening_minutes=7)
    data = post(api, base(n_tracks=20)).json()
    chosen = [t for t in labelled_catalog if t.pk in {i["track"]["id"] for i in data["items"]}]
    assert chosen and not any(t.genre == "jazz" for t in chosen)
    assert len(chosen) <= 3  # two-minute tracks within seven minutes
    assert data["constraints"]["disliked_genres"] == ["jazz"] and data["constraints"]["max_minutes"] == 7


def test_oversized_body_is_refused(api, labelled_catalog):
    payload = base(constraints={"exclude_ids": list(range(1, 12_000))})
    response = post(api, payload)
    assert response.status_code == 400 and "no more than 10000" in response.content.decode()
    huge = json.dumps({**base(), "title": "x" * (6 * 1024 * 1024)})
    assert post(api, huge, raw=True).status_code in (400, 413)
    assert not Playlist.objects.exists()
