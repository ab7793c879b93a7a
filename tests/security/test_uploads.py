"""Defect 1 of issue 13: stored script via audio upload.

The attack: a researcher (staff, not superuser) uploads an HTML page, an SVG or a zip renamed
`.ogg` as a track's audio in the admin; `GET /tracks/<id>/audio` then served it to participants
inline as `text/html` from Attune's own origin. Uploads are now checked by content, stored under
a generated name, and served only as audio with nosniff and a sandboxing CSP.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from recommender.models import ImportRun, Track

SCRIPT_PAGE = b"<!doctype html><html><body><script>fetch('/settings/export.json')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", SCRIPT_PAGE)
    return buffer.getvalue()


def _audio(fmt: str = "WAV", seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    t = np.arange(int(22050 * seconds)) / 22050
    sf.write(buffer, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def researcher_client(client, researcher, media):
    client.force_login(researcher)
    return client


def _add_track(client, name: str, content: bytes):
    return client.post(
        reverse("admin:recommender_track_add"),
        {"title": "Uploaded", "artist": "", "duration_s": "", "audio_file": SimpleUploadedFile(name, content),
         "trackl-TOTAL_FORMS": "0", "trackl-INITIAL_FORMS": "0", "labels-TOTAL_FORMS": "0",
         "labels-INITIAL_FORMS": "0", "descriptors": "{}"},
    )


@pytest.mark.parametrize(
    "name, content",
    [
        ("page.html", SCRIPT_PAGE),
        ("image.svg", SVG),
        ("archive.ogg", _zip()),
        ("page.wav", SCRIPT_PAGE),
        ("image.mp3", SVG),
        ("empty.wav", b""),
        ("flac-named.ogg", _audio("FLAC")),
    ],
)
def test_admin_refuses_audio_that_is_not_real_audio_of_its_format(researcher_client, media, name, content):
    response = _add_track(researcher_client, name, content)
    assert response.status_code == 200, "the form must be shown again with an error, not saved"
    assert b"errorlist" in response.content
    assert not Track.objects.filter(title="Uploaded").exists()
    assert not any(p.is_file() for p in media.rglob("*")), "nothing may be stored"


@pytest.mark.parametrize("fmt, ext, content_type", [("WAV", ".wav", "audio/x-wav"), ("FLAC", ".flac", "audio/flac"),
                                                    ("OGG", ".ogg", "audio/ogg")])
def test_real_audio_is_stored_under_a_generated_name_and_served_as_audio(researcher_client, participant, client,
                                                                        media, fmt, ext, content_type):
    response = _add_track(researcher_client, f"my song{ext}", _audio(fmt))
    assert response.status_code == 302, response.content.decode()[-2000:]
    track = Track.objects.get(title="Uploaded")
    stored = Path(track.audio_file.name)
    assert stored.parent.name == "tracks" and stored.suffix == ext and "song" not in stored.name
    assert len(stored.stem) == 32
    client.force_login(participant)
    answer = client.get(reverse("recommender:track-audio", args=[track.pk]))
    assert answer.status_code == 200 and answer["Content-Type"] == content_type
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in answer["Content-Security-Policy"] and "default-src 'none'" in answer["Content-Security-Policy"]
    assert answer["Content-Disposition"] == f'inline; filename="track-{track.pk}{ext}"'


@pytest.mark.parametrize("stored_name", ["tracks/legacy.html", "tracks/legacy.svg", "tracks/legacy"])
def test_a_stored_non_audio_file_is_never_served(client, participant, media, stored_name):
    """A file that reached storage before uploads were checked (or by hand) is not served at all."""
    track = Track.objects.create(title="Legacy", external_id="legacy")
    track.audio_file.name = stored_name
    (media / stored_name).parent.mkdir(parents=True, exist_ok=True)
    (media / stored_name).write_bytes(SCRIPT_PAGE)
    track.save()
    client.force_login(participant)
    answer = client.get(reverse("recommender:track-audio", args=[track.pk]))
    assert answer.status_code == 404
    assert b"<script>" not in answer.content


def test_audio_answers_of_a_range_carry_the_same_headers(client, participant, media):
    track = Track.objects.create(title="Song", external_id="song")
    track.audio_file.save("x.wav", ContentFile(_audio()))
    client.force_login(participant)
    part = client.get(reverse("recommender:track-audio", args=[track.pk]), HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["X-Content-Type-Options"] == "nosniff"
    assert part["Content-Type"] == "audio/x-wav" and "sandbox" in part["Content-Security-Policy"]


CSV = b"track_id,artists,track_name,valence\na1,Someone,First,0.5\n"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("page.csv", SCRIPT_PAGE, b"markup or an archive"),
        ("image.csv", SVG, b"markup or an archive"),
        ("archive.csv", _zip(), b"binary"),
        ("latin1.csv", "track_id,artists,track_name\na1,Dvo\u0159\u00e1k,X\n".encode("cp1250"), b"not UTF-8"),
        ("binary.csv", b"track_id,artists,track_name\n\x00\x01\x02", b"binary"),
        ("columns.csv", b"id,name\n1,x\n", b"Required column"),
        ("page.html", CSV, b"Upload a .csv file"),
    ],
)
def test_csv_import_refuses_what_is_not_a_catalog_csv(researcher_client, media, name, content, message):
    response = researcher_client.post(reverse("admin:recommender_importrun_upload"),
                                      {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and message in response.content
    assert not ImportRun.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_csv_import_is_stored_under_a_generated_name(researcher_client, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(reverse("admin:recommender_importrun_upload"),
                                          {"file": SimpleUploadedFile("Dr Who's catalog.csv", CSV)})
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.source_name == "Dr Who's catalog.csv"
    assert run.upload.name.startswith("imports/") and "Who" not in run.upload.name and run.upload.name.endswith(".csv")
    assert run.created_count == 1


@pytest.mark.parametrize("debug", [True, False])
def test_media_is_never_served_without_the_checked_view(client, media, settings, debug):
    """Defect 8: with DEBUG on, /media/ was served to anyone, logged in or not."""
    import importlib

    from django.urls import clear_url_caches

    import config.urls

    (media / "tracks").mkdir()
    (media / "tracks" / "secret.wav").write_bytes(_audio())
    settings.DEBUG = debug
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        assert client.get("/media/tracks/secret.wav").status_code == 404
    finally:
        settings.DEBUG = False
        importlib.reload(config.urls)
        clear_url_caches()


def test_the_admin_links_a_tracks_audio_to_the_checked_view(researcher_client, media):
    track = Track.objects.create(title="Linked", external_id="linked")
    track.audio_file.save("x.wav", ContentFile(_audio()))
    page = researcher_client.get(reverse("admin:recommender_track_change", args=[track.pk]))
    assert page.status_code == 200
    assert f'href="{reverse("recommender:track-audio", args=[track.pk])}"'.encode() in page.content
    assert b'href="/media/' not in page.content
