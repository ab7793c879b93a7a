"""An exported M3U plays outside the browser: its entries are signed, time-limited links to the
person's own tracks that work without a log-in, and nothing else (issue 14, item 4)."""

from __future__ import annotations

import io
import time

import numpy as np
import soundfile as sf
from django.core.files.base import ContentFile
from django.urls import reverse

from recommender import conf
from recommender.audio_links import audio_link_token
from tests.recommender.test_pages import make_playlist


def _with_audio(track):
    wav = io.BytesIO()
    sf.write(wav, np.zeros(2205, dtype=np.float32) + 0.1, 22050, format="WAV")
    track.audio_file.save("t.wav", ContentFile(wav.getvalue()))


def _m3u_links(client, playlist) -> list[str]:
    body = client.get(reverse("recommender:playlist-export", args=[playlist.pk, "m3u"])).content.decode()
    assert "play without a log-in until" in body
    return [line for line in body.splitlines() if line.startswith("http")]


def test_m3u_links_play_without_a_login_for_the_owner_only(api, client, labelled_catalog, quick_user):
    from django.test import Client

    for track in labelled_catalog:
        _with_audio(track)
    playlist = make_playlist(api)
    links = _m3u_links(api, playlist)
    assert len(links) == 5
    anonymous = Client()
    audio = anonymous.get(links[0].removeprefix("http://testserver"))
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"
    part = anonymous.get(links[1].removeprefix("http://testserver"), HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206 and part.content == b"RIFF"

    # the signature binds the track: the same token on another track is refused
    first = playlist.items.first().track_id
    other = next(t.pk for t in labelled_catalog if not playlist.items.filter(track_id=t.pk).exists())
    token = links[0].rsplit("/", 1)[1]
    assert anonymous.get(reverse("recommender:track-audio-link", args=[other, token])).status_code == 404
    assert anonymous.get(reverse("recommender:track-audio-link", args=[first, token + "x"])).status_code == 404
    # a link someone makes for a track that is not in any of their playlists is refused
    stranger = quick_user()
    forged = audio_link_token(user_id=stranger.pk, track_id=first)
    assert anonymous.get(reverse("recommender:track-audio-link", args=[first, forged])).status_code == 404
    # deleting the playlist ends its links
    playlist.delete()
    assert anonymous.get(links[0].removeprefix("http://testserver")).status_code == 404


def test_m3u_links_expire(api, labelled_catalog, monkeypatch):
    for track in labelled_catalog[:20]:
        _with_audio(track)
    playlist = make_playlist(api)
    links = _m3u_links(api, playlist)
    assert links
    later = time.time() + conf.AUDIO_LINK_DAYS * 86400 + 60
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    from django.test import Client

    response = Client().get(links[0].removeprefix("http://testserver"))
    assert response.status_code == 410 and "Export the playlist" in response.content.decode()


def test_m3u_links_end_with_the_account(api, labelled_catalog):
    from django.test import Client

    for track in labelled_catalog:
        _with_audio(track)
    playlist = make_playlist(api)
    link = _m3u_links(api, playlist)[0].removeprefix("http://testserver")
    api.user.is_active = False
    api.user.save(update_fields=["is_active"])
    assert Client().get(link).status_code == 404


def test_playlist_page_says_how_long_the_m3u_plays(api, labelled_catalog):
    playlist = make_playlist(api)
    html = api.get(reverse("recommender:playlist-detail", args=[playlist.pk])).content.decode()
    assert 'data-testid="m3u-note"' in html and "without logging in" in html
