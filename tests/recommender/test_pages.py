"""Pages: make a playlist through the form, see reasons and audio, exports, audio view, persona, privacy."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.urls import reverse

from accounts import privacy
from recommender.models import Playlist
from recommender.services.playlists import playlists_export

FORM = {
    "start": "sadness",
    "target": "joyful_activation",
    "strategy": "iso",
    "length": "5",
    "unit": "tracks",
    "allow_explicit": "on",
    "title": "=cmd|' /C calc'!A0",
}


@pytest.fixture
def page_client(api):
    return api


def make_playlist(client, **overrides):
    response = client.post(reverse("recommender:playlist-new"), {**FORM, **overrides})
    assert response.status_code == 302, response.content.decode()[-3000:]
    return Playlist.objects.latest("id")


def test_form_page_renders_for_a_participant(page_client, labelled_catalog):
    response = page_client.get(reverse("recommender:playlist-new"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="start"' in body and "Joyful activation" in body and "interpolation" in body


def test_form_makes_a_playlist_and_detail_shows_reasons_path_and_audio(page_client, labelled_catalog):
    track = labelled_catalog[0]
    wav = io.BytesIO()
    sf.write(wav, np.zeros(2205, dtype=np.float32) + 0.1, 22050, format="WAV")
    track.audio_file.save("t.wav", ContentFile(wav.getvalue()))
    playlist = make_playlist(page_client, length="60")
    assert playlist.owner == page_client.user and playlist.items.count() == 60
    page = page_client.get(reverse("recommender:playlist-detail", args=[playlist.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count('data-testid="reason"') == 60 and "Why this piece:" in body
    assert "<svg" in body and 'class="va-path"' in body
    assert body.count("<audio") == 1 and reverse("recommender:track-audio", args=[track.pk]) in body
    audio = page_client.get(reverse("recommender:track-audio", args=[track.pk]))
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/x-wav"
    assert b"".join(audio.streaming_content)[:4] == b"RIFF" and audio["Accept-Ranges"] == "bytes"
    size = track.audio_file.size
    part = page_client.get(reverse("recommender:track-audio", args=[track.pk]), HTTP_RANGE="bytes=4-11")
    with track.audio_file.open("rb") as fh:
        expected = fh.read()[4:12]
    assert part.status_code == 206 and part.content == expected
    assert part["Content-Range"] == f"bytes 4-11/{size}"
    tail = page_client.get(reverse("recommender:track-audio", args=[track.pk]), HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and len(tail.content) == 10
    bad = page_client.get(reverse("recommender:track-audio", args=[track.pk]), HTTP_RANGE=f"bytes={size + 5}-")
    assert bad.status_code == 416
    assert page_client.get(reverse("recommender:track-audio", args=[labelled_catalog[1].pk])).status_code == 404


def test_form_errors_are_shown_with_400_and_nothing_saved(page_client, labelled_catalog):
    for overrides, message in [
        ({"target": "sadness"}, "are the same"),
        ({"strategy": "nope"}, "Unknown strategy"),
        ({"length": "-2"}, "greater than or equal to 1"),
        ({"strategy": "gan"}, "has not been trained yet"),
    ]:
        response = page_client.post(reverse("recommender:playlist-new"), {**FORM, **overrides})
        assert response.status_code == 400 and message in response.content.decode(), overrides
    assert not Playlist.objects.exists()


def test_anonymous_pages_redirect_to_login(client, labelled_catalog):
    for url in [reverse("recommender:playlist-new"), reverse("recommender:playlist-list"),
                reverse("recommender:track-audio", args=[labelled_catalog[0].pk])]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_exports_csv_and_m3u(page_client, labelled_catalog):
    from recommender.models import Track

    Track.objects.update(title="=HYPERLINK(1)", artist="\t=1+1", album="\r@SUM(A1)")
    playlist = make_playlist(page_client)
    response = page_client.get(reverse("recommender:playlist-export", args=[playlist.pk, "csv"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    items = list(playlist.items.all())
    assert [int(r["track_id"]) for r in rows] == [i.track_id for i in items]
    assert rows[0]["reason"] == items[0].reason
    assert all(r["title"] == "'=HYPERLINK(1)" for r in rows)  # no formula reaches a spreadsheet
    assert all(r["artist"] == "'\t=1+1" and r["album"] == "'\r@SUM(A1)" for r in rows)  # tab and CR too
    assert float(rows[0]["duration_s"]) == items[0].track.duration_s  # numbers stay numbers
    assert response["Content-Disposition"] == 'attachment; filename="cmd-C-calc-A0.csv"'
    m3u = page_client.get(reverse("recommender:playlist-export", args=[playlist.pk, "m3u"])).content.decode()
    lines = m3u.splitlines()
    assert lines[0] == "#EXTM3U" and sum(line.startswith("#EXTINF:120,") for line in lines) == 5
    assert page_client.get(reverse("recommender:playlist-export", args=[playlist.pk, "xls"])).status_code == 404


def test_playlist_list_page(page_client, labelled_catalog):
    assert "No playlists yet" in page_client.get(reverse("recommender:playlist-list")).content.decode()
    playlist = make_playlist(page_client)
    assert reverse("recommender:playlist-detail", args=[playlist.pk]) in page_client.get(
        reverse("recommender:playlist-list")).content.decode()


def test_persona_panel_empty_then_filled(page_client, labelled_catalog):
    dashboard = page_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="persona-empty"' in dashboard
    make_playlist(page_client)
    dashboard = page_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="persona-card"' in dashboard and "mood cluster" in dashboard
    assert "10 min per playlist" in dashboard  # five two-minute tracks


def test_privacy_section_exports_and_erases_only_own(page_client, labelled_catalog, quick_user, client):
    mine = make_playlist(page_client)
    other = quick_user()
    client.force_login(other)
    make_playlist(client)
    section = next(s for s in privacy.sections() if s.name == "playlists")
    exported = section.export(page_client.user)
    assert [p["id"] for p in exported] == [mine.pk] and len(exported[0]["items"]) == 5
    assert exported == playlists_export(user=page_client.user)
    assert section.erase(page_client.user) >= 1
    assert not Playlist.objects.filter(owner=page_client.user).exists()
    assert Playlist.objects.filter(owner=other).count() == 1


def test_persona_uses_registered_history_provider(page_client, labelled_catalog):
    from recommender import selectors

    tracks = labelled_catalog[:6]

    def provider(user):
        if user != page_client.user:
            return []
        return [selectors.HistoryItem(t.pk, 300.0, f"session-{i % 2}") for i, t in enumerate(tracks)]

    previous = selectors.install_providers(history=provider, profile=None)
    try:
        items, source = selectors.listening_history(user=page_client.user)
        assert source == "sessions" and len(items) == 6
        dashboard = page_client.get(reverse("dashboard")).content.decode()
        assert "15 min per session (2 in all)" in dashboard and "of 6 tracks" in dashboard
    finally:
        selectors.install_providers(history=previous[0], profile=previous[1])


def test_audio_range_answers_are_capped(page_client, labelled_catalog, monkeypatch):
    """`Range: bytes=0-` (what browsers send) must not read a whole file into memory: each 206
    holds at most MAX_RANGE_BYTES, and seeking past the cap still answers the asked bytes."""
    from recommender import views

    monkeypatch.setattr(views, "MAX_RANGE_BYTES", 1000)
    track = labelled_catalog[0]
    payload = bytes(range(256)) * 20  # 5120 bytes
    track.audio_file.save("big.wav", ContentFile(payload))
    url = reverse("recommender:track-audio", args=[track.pk])
    first = page_client.get(url, HTTP_RANGE="bytes=0-")
    assert first.status_code == 206 and first.content == payload[:1000]
    assert first["Content-Range"] == "bytes 0-999/5120" and first["Content-Length"] == "1000"
    seek = page_client.get(url, HTTP_RANGE="bytes=4000-")
    assert seek.status_code == 206 and seek.content == payload[4000:5000]
    assert seek["Content-Range"] == "bytes 4000-4999/5120"
    small = page_client.get(url, HTTP_RANGE="bytes=5100-5119")
    assert small.content == payload[5100:] and small["Content-Range"] == "bytes 5100-5119/5120"
    suffix = page_client.get(url, HTTP_RANGE="bytes=-3000")  # the last 3000 bytes, capped to 1000
    assert suffix.content == payload[2120:3120] and suffix["Content-Range"] == "bytes 2120-3119/5120"


def test_api_audio_url_is_the_tracks_login_checked_url(labelled_catalog):
    """The API's audio URL comes from Track.audio_url (the login-checked view, else the preview)."""
    from recommender.api import TrackOutput

    with_file, with_preview, bare = labelled_catalog[0], labelled_catalog[1], labelled_catalog[2]
    with_file.audio_file.save("a.wav", ContentFile(b"RIFF0000"))
    with_preview.preview_url = "https://example.org/p.mp3"
    data = [TrackOutput(t).data["audio_url"] for t in (with_file, with_preview, bare)]
    assert data == [with_file.audio_url, "https://example.org/p.mp3", None]
    assert data[0] == reverse("recommender:track-audio", args=[with_file.pk])
