"""Admin: CSV upload as a researcher, progress JSON, label editing through the one write path."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from emotion.vocab import one_hot_gems
from recommender.models import ImportRun, RunStatus, Track, TrackLabel
from recommender.services.labels import catalog_version

CSV = (
    b"track_id,artists,track_name,valence,energy,tempo,track_genre\n"
    b"a1,Someone,First,0.5,0.6,100,folk\n"
    b"a2,Someone,Second,NaN,0.6,100,folk\n"
)


@pytest.fixture
def staff_client(client, researcher, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client.force_login(researcher)
    return client


def test_researcher_uploads_csv_and_sees_progress(staff_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:recommender_importrun_upload"), {"file": SimpleUploadedFile("t.csv", CSV, "text/csv")}
        )
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{run.pk}/change/")
    assert run.status == RunStatus.DONE and run.created_count == 1 and run.error_count == 1
    assert run.created_by is not None
    progress = staff_client.get(reverse("admin:recommender_importrun_progress", args=[run.pk])).json()
    assert progress["percent"] == 100 and progress["status"] == "done"
    page = staff_client.get(reverse("admin:recommender_importrun_change", args=[run.pk]))
    assert page.status_code == 200 and b"valence is NaN" in page.content and b"import-progress" in page.content
    assert Track.objects.get(external_id="a1").genre == "folk"


@pytest.mark.parametrize(
    "name, content, message",
    [("t.txt", CSV, b"Upload a .csv file"), ("t.csv", b"", b"empty")],
)
def test_upload_rejects_bad_files_without_a_run(staff_client, name, content, message):
    response = staff_client.post(reverse("admin:recommender_importrun_upload"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400 and message in response.content
    assert not ImportRun.objects.exists()


def test_upload_rejects_oversized_file(settings, staff_client, monkeypatch):

    settings.ATTUNE_CATALOG_IMPORT_MAX_BYTES = 10
    response = staff_client.post(reverse("admin:recommender_importrun_upload"), {"file": SimpleUploadedFile("t.csv", CSV)})
    assert response.status_code == 400 and b"limit" in response.content
    assert not ImportRun.objects.exists()


def test_participant_cannot_reach_upload(client, participant):
    client.force_login(participant)
    response = client.get(reverse("admin:recommender_importrun_upload"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_label_admin_saves_through_service(staff_client, make_track):
    track = make_track()
    version = catalog_version()
    gems = [float(v) for v in one_hot_gems("peacefulness")]
    response = staff_client.post(
        reverse("admin:recommender_tracklabel_add"),
        {"track": track.pk, "source": "manual", "gems": str(gems), "confidence": "0.8", "rater_count": "0"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    label = TrackLabel.objects.get()
    assert label.valence == pytest.approx(0.55) and label.entropy == pytest.approx(0.0)
    assert catalog_version() > version
    bad = staff_client.post(
        reverse("admin:recommender_tracklabel_add"),
        {"track": track.pk, "source": "survey", "gems": str([0.5] * 9), "confidence": "0.8", "rater_count": "0"},
    )
    assert bad.status_code == 200 and b"sum to 1" in bad.content
    assert TrackLabel.objects.count() == 1
