"""The listener's streaming history through the services and pages: upload, match report,
idempotence, all-or-nothing bad input, persona card and playlists, export, erasure, research view."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recommender.models import HistoryPlay, HistoryUpload
from recommender.selectors import listener_profile, listening_history
from recommender.services.history import history_delete, history_import
from recommender.streaming_history import synthetic_export, zip_export

START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 1 a.m.: every play of the first hours is late-night


def songs_of(tracks):
    return [(t.external_id, t.artist, t.title) for t in tracks]


def export_bytes(tracks, plays=40, extended=True, seed=0):
    return json.dumps(synthetic_export(songs_of(tracks), plays=plays, start=START, extended=extended, seed=seed)).encode()


class TestImport:
    def test_matches_stores_once_and_reports(self, participant, labelled_catalog):
        data = export_bytes(labelled_catalog[:5])
        result = history_import(user=participant, name="Streaming_History_Audio_2026.json", data=data)
        up = result.upload
        assert up.plays_read == 40 and up.plays_matched == 40 and up.by_uri == 40 and up.tracks_matched <= 5
        assert HistoryPlay.objects.filter(user=participant).count() == up.plays_new == 40
        again = history_import(user=participant, name="Streaming_History_Audio_2026.json", data=data)
        assert again.upload.plays_new == 0 and HistoryPlay.objects.filter(user=participant).count() == 40

    def test_account_layout_matches_by_artist_and_title(self, participant, labelled_catalog):
        data = export_bytes(labelled_catalog[:3], plays=10, extended=False)
        up = history_import(user=participant, name="StreamingHistory0.json", data=data).upload
        assert up.by_name == 10 and up.by_uri == 0

    def test_zip_of_both_layouts(self, participant, labelled_catalog):
        data = zip_export({
            "MyData/StreamingHistory0.json": export_bytes(labelled_catalog[:3], plays=5, extended=False),
            "MyData/Streaming_History_Audio_0.json": export_bytes(labelled_catalog[3:6], plays=5, seed=1),
            "MyData/Identity.json": b'{"displayName": "real name"}',
        })
        up = history_import(user=participant, name="my_spotify_data.zip", data=data).upload
        assert up.plays_matched == 10 and len(up.files) == 2

    def test_unmatched_names_are_reported_not_stored(self, participant, labelled_catalog):
        rows = synthetic_export(songs_of(labelled_catalog[:2]), plays=4, start=START)
        rows.append({"ts": "2026-03-02T10:00:00Z", "ms_played": 90000, "master_metadata_track_name": "Secret Song",
                     "master_metadata_album_artist_name": "Unknown Band", "spotify_track_uri": None})
        result = history_import(user=participant, name="endsong_0.json", data=json.dumps(rows).encode())
        assert result.unmatched_examples == [("Unknown Band", "Secret Song")]
        assert "Secret Song" not in json.dumps(list(HistoryUpload.objects.values()), default=str)

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("StreamingHistory0.json", b"", "empty"),
            ("StreamingHistory0.json", b"[{", "not valid JSON"),
            ("StreamingHistory0.json", b"\xff\xfe[]", "not UTF-8"),
            ("StreamingHistory0.json", b"[]", "No music plays"),
            ("x.zip", zip_export({"inner.zip": b"PK"}), "another zip"),
        ],
    )
    def test_bad_files_store_nothing(self, participant, labelled_catalog, name, data, message):
        with pytest.raises(ValidationError, match=message):
            history_import(user=participant, name=name, data=data)
        assert not HistoryPlay.objects.exists() and not HistoryUpload.objects.exists()

    def test_no_match_in_catalog_stores_nothing(self, participant, labelled_catalog):
        data = json.dumps(synthetic_export([("zz", "Nobody", "Nothing")], plays=3, start=START)).encode()
        with pytest.raises(ValidationError, match="None of the 3 plays matched"):
            history_import(user=participant, name="endsong_0.json", data=data)
        assert not HistoryPlay.objects.exists() and not HistoryUpload.objects.exists()

    def test_oversized_upload_is_refused_before_reading(self, settings, participant, labelled_catalog, monkeypatch):

        settings.ATTUNE_HISTORY_MAX_UPLOAD_BYTES = 100
        with pytest.raises(ValidationError, match="larger than"):
            history_import(user=participant, name="endsong_0.json", data=export_bytes(labelled_catalog[:2]))

    def test_anonymous_cannot_import(self, labelled_catalog):
        from django.contrib.auth.models import AnonymousUser

        with pytest.raises(ValidationError):
            history_import(user=AnonymousUser(), name="endsong_0.json", data=export_bytes(labelled_catalog[:2]))


class TestUse:
    def test_history_feeds_the_profile_and_the_persona_source(self, participant, labelled_catalog):
        assert listener_profile(user=participant) is None
        history_import(user=participant, name="endsong_0.json", data=export_bytes(labelled_catalog[:4], plays=60))
        profile = listener_profile(user=participant)
        assert profile.history_imported and set(profile.history_ids) <= {t.pk for t in labelled_catalog[:4]}
        items, source = listening_history(user=participant)
        assert source == "imported" and items and all(i.played_at is not None for i in items)
        assert all(i.seconds >= 30 for i in items)  # plays under 30 s are not listening
        history_delete(user=participant)
        assert listener_profile(user=participant) is None and listening_history(user=participant)[1] == "playlists"

    def test_cluster_and_personal_playlists_follow_the_history(self, api, labelled_catalog):
        from emotion.vocab import one_hot_gems
        from recommender.engine.types import State
        from recommender.services.playlists import playlist_create

        start, target = State.from_gems(one_hot_gems("sadness")), State.from_gems(one_hot_gems("joyful_activation"))

        def build(strategy):
            playlist = playlist_create(owner=api.user, strategy=strategy, start=start, target=target, n_tracks=6, seed=3)
            return [i.track_id for i in playlist.items.order_by("position")], playlist.notes

        before = {s: build(s) for s in ("cluster", "personal")}
        # a history of the catalog's loudest, fastest corner
        corner = sorted(labelled_catalog, key=lambda t: -(t.tempo + t.loudness))[:5]
        history_import(user=api.user, name="endsong_0.json", data=export_bytes(corner, plays=80))
        after = {s: build(s) for s in ("cluster", "personal")}
        for strategy in ("cluster", "personal"):
            assert after[strategy][0] != before[strategy][0], strategy
            assert any("streaming history" in note for note in after[strategy][1]), after[strategy][1]
        history_delete(user=api.user)
        assert {s: build(s)[0] for s in ("cluster", "personal")} == {s: v[0] for s, v in before.items()}


class TestPages:
    def test_upload_page_report_and_delete(self, api, labelled_catalog):
        url = reverse("recommender:history")
        page = api.get(url)
        assert page.status_code == 200 and 'data-testid="history-empty"' in page.content.decode()
        upload = SimpleUploadedFile("my_spotify_data.zip", zip_export({"Streaming_History_Audio_0.json": export_bytes(labelled_catalog[:5])}))
        answer = api.post(url, {"file": upload})
        text = answer.content.decode()
        assert answer.status_code == 200 and 'data-testid="history-matched">40<' in text
        dashboard = api.get(reverse("dashboard")).content.decode()
        assert "in your streaming history" in dashboard and 'data-testid="persona-late-night"' in dashboard
        refused = api.post(reverse("recommender:history-delete"), {})
        assert refused.status_code == 400 and HistoryPlay.objects.filter(user=api.user).count() == 40
        deleted = api.post(reverse("recommender:history-delete"), {"confirm": "yes"})
        assert deleted.status_code == 302 and not HistoryPlay.objects.filter(user=api.user).exists()
        assert 'data-testid="persona-empty"' in api.get(reverse("dashboard")).content.decode()

    def test_bad_upload_answers_400_with_the_reason(self, api, labelled_catalog):
        url = reverse("recommender:history")
        assert api.post(url, {}).status_code == 400
        answer = api.post(url, {"file": SimpleUploadedFile("StreamingHistory0.json", b"[{")})
        assert answer.status_code == 400 and "not valid JSON" in answer.content.decode()

    def test_oversized_upload_answers_413(self, settings, api, labelled_catalog, monkeypatch):

        settings.ATTUNE_HISTORY_MAX_UPLOAD_BYTES = 10
        answer = api.post(reverse("recommender:history"), {"file": SimpleUploadedFile("endsong_0.json", b"[" + b" " * 20 + b"]")})
        assert answer.status_code == 413 and not HistoryPlay.objects.exists()

    def test_pages_need_login_and_post_for_delete(self, client, db):
        assert client.get(reverse("recommender:history")).status_code == 302
        assert client.post(reverse("recommender:history-delete"), {"confirm": "yes"}).status_code == 302


class TestPrivacy:
    def test_export_and_erasure_whatever_the_research_consent(self, make_user, labelled_catalog):
        from accounts.services import user_erase, user_export

        person = make_user(research_data=True)
        other = make_user()
        history_import(user=person, name="endsong_0.json", data=export_bytes(labelled_catalog[:3], plays=12))
        history_import(user=other, name="endsong_0.json", data=export_bytes(labelled_catalog[:3], plays=7))
        exported = user_export(user=person)
        section = exported["streaming_history"] if "streaming_history" in exported else exported["sections"]["streaming_history"]
        assert len(section["plays"]) == 12 and section["uploads"][0]["plays_matched"] == 12
        user_erase(user=person)
        assert not HistoryPlay.objects.filter(user=person).exists() and not HistoryUpload.objects.filter(user=person).exists()
        assert HistoryPlay.objects.filter(user=other).count() == 7

    def test_researchers_see_codes_of_consenting_people_only(self, client, make_user, labelled_catalog):
        from accounts.services import consent_set

        researcher = make_user("researcher")
        researcher.is_staff = True
        researcher.save(update_fields=["is_staff"])
        yes = make_user(research_data=True)
        no = make_user()
        for person in (yes, no):
            history_import(user=person, name="endsong_0.json", data=export_bytes(labelled_catalog[:3], plays=5))
        client.force_login(researcher)
        url = reverse("admin:recommender_historyplay_changelist")
        page = client.get(url).content.decode()
        assert yes.participant_code in page and no.participant_code not in page
        assert yes.username not in page
        ids = list(HistoryPlay.objects.values_list("pk", flat=True))
        csv = client.post(url, {"action": "export_csv", "_selected_action": ids})
        body = b"".join(csv.streaming_content).decode()
        assert body.count(yes.participant_code) == 5 and no.participant_code not in body and yes.username not in body
        consent_set(user=yes, purpose="research_data", granted=False)
        assert yes.participant_code not in client.get(url).content.decode()
