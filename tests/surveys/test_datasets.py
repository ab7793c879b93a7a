"""Imported song-emotion data sets through the services, the task and the admin: matching,
Emotify answers aggregated like a survey, the pooled `dataset` label and its place in the one
resolution rule, idempotent re-import, removal, and files that import nothing."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from emotion.vocab import GEMS, one_hot_gems, va_to_gems
from recommender.models import RunStatus, TrackLabel
from recommender.selectors import resolve_label
from studies.surveys.datasets import dataset_import_create, dataset_import_run, dataset_remove
from studies.surveys.models import DatasetLabel, LabelDataset

HEADER = ",".join(GEMS)


@pytest.fixture
def catalog(tracks):
    for i, t in enumerate(tracks):
        t.external_id = f"emo-{i}"
        t.save(update_fields=["external_id"])
    return tracks


def run(name, shape, text, **kw):
    dataset = dataset_import_create(name=name, shape=shape, data=text.encode(), **kw)
    return dataset_import_run(dataset_id=dataset.pk)


def emotify(rows) -> str:
    lines = ["track id,rater," + ",".join(["amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power",
                                            "joyful_activation", "tension", "sadness"]) + ",liked,age"]
    for track, rater, picked in rows:
        flags = ["1" if g in picked else "0" for g in GEMS]
        lines.append(f"emo-{track},{rater}," + ",".join(flags) + ",1,30")
    return "\n".join(lines) + "\n"


def test_soft_labels_match_pool_and_rank_below_surveys(catalog):
    text = f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\nemo-1,0,0,0,0,0,0,0,0,1\nnot-here,0,1,0,0,0,0,0,0,0\n"
    dataset = run("Soft set", "soft", text, licence_note="CC BY 4.0")
    assert dataset.status == RunStatus.DONE and (dataset.songs, dataset.songs_matched) == (3, 2)
    assert dataset.unmatched == ["not-here"] and not dataset.upload
    label = resolve_label(track=catalog[0])
    assert label.source == "dataset" and np.allclose(label.gems, one_hot_gems("wonder"))
    from recommender.services.labels import track_label_set

    track_label_set(track=catalog[0], source="survey", gems=list(one_hot_gems("power")), confidence=0.9)
    assert resolve_label(track=catalog[0]).source == "survey"


def test_emotify_answers_go_through_the_survey_aggregation(catalog):
    rows = [(0, "r1", {"wonder", "peacefulness"}), (0, "r2", {"wonder"}), (0, "r3", {"wonder"}),
            (1, "r1", {"sadness"}), (1, "r2", {"sadness", "nostalgia"}), (1, "r3", {"sadness"})]
    dataset = run("Emotify", "raters", emotify(rows))
    assert dataset.status == RunStatus.DONE, dataset.errors or dataset.message
    assert dataset.rater_count == 3 and dataset.figures["alpha"]["n_units"] == 2
    assert {r["code"] for r in dataset.figures["raters"]} == {"r1", "r2", "r3"}
    assert "liked, age" in dataset.message
    w = resolve_label(track=catalog[0])
    assert w.source == "dataset" and GEMS[int(np.argmax(w.gems))] == "wonder" and w.rater_count == 3
    s = resolve_label(track=catalog[1])
    assert GEMS[int(np.argmax(s.gems))] == "sadness"


def test_va_and_tags_shapes(catalog):
    run("DEAM", "va", "external_id,valence,arousal\nemo-2,9,5\n", scale=(1, 9))
    assert np.allclose(resolve_label(track=catalog[2]).gems, va_to_gems(np.array([1.0, 0.0])), atol=1e-6)
    catalog[3].artist, catalog[3].title = "Bach", "Air"
    catalog[3].save(update_fields=["artist", "title"])
    run("Tags", "tags", "artist,title,tags\nBACH,Air (BWV 1068),calm\n")
    assert np.allclose(resolve_label(track=catalog[3]).gems, one_hot_gems("peacefulness"))


def test_two_data_sets_pool_by_raters_and_removal_takes_one_out(catalog):
    run("A", "soft", f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\n")
    run("B", "soft", f"external_id,{HEADER}\nemo-0,0,0,0,0,0,0,0,0,1\n")
    pooled = np.array(resolve_label(track=catalog[0]).gems)
    assert np.allclose(pooled, 0.5 * (one_hot_gems("wonder") + one_hot_gems("sadness")))
    dataset_remove(dataset=LabelDataset.objects.get(name="B"))
    assert np.allclose(resolve_label(track=catalog[0]).gems, one_hot_gems("wonder"))
    dataset_remove(dataset=LabelDataset.objects.get(name="A"))
    assert not TrackLabel.objects.filter(source="dataset").exists() and not DatasetLabel.objects.exists()


def test_importing_twice_changes_nothing(catalog):
    text = f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\nemo-5,0,0,0,1,0,0,0,0,1\n"
    run("Again", "soft", text)
    before = list(TrackLabel.objects.filter(source="dataset").order_by("track_id").values_list("track_id", "gems", "rater_count"))
    run("Again", "soft", text)
    after = list(TrackLabel.objects.filter(source="dataset").order_by("track_id").values_list("track_id", "gems", "rater_count"))
    assert before == after and LabelDataset.objects.count() == 1 and DatasetLabel.objects.count() == 2


@pytest.mark.parametrize(
    ("shape", "text", "expect"),
    [
        ("soft", f"external_id,{HEADER},colour\nemo-0,1,0,0,0,0,0,0,0,0,red\n", "Unknown columns: colour"),
        ("soft", f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\nemo-0,1,0,0,0,0,0,0,0,0\n", "repeats line 2"),
        ("va", "external_id,valence,arousal\nemo-0,12,3\n", "stated scale"),
        ("raters", "external_id,rater," + HEADER + "\nemo-0,r1,1,0,0,0,0,0,0,0,0\nemo-0,r1,1,0,0,0,0,0,0,0,0\n", "by rater r1"),
    ],
)
def test_a_bad_file_imports_nothing_and_says_which_rows(catalog, shape, text, expect):
    run("Good", "soft", f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\n")
    before = list(TrackLabel.objects.values_list("track_id", "source", "gems"))
    dataset = run("Bad", shape, text)
    assert dataset.status == RunStatus.FAILED
    assert expect in dataset.message + " ".join(dataset.errors)
    assert list(TrackLabel.objects.values_list("track_id", "source", "gems")) == before
    assert not DatasetLabel.objects.filter(dataset=dataset).exists()


def test_create_refuses_empty_unnamed_and_bad_tag_maps(catalog):
    with pytest.raises(ValidationError, match="name"):
        dataset_import_create(name=" ", shape="soft", data=b"x")
    with pytest.raises(ValidationError, match="empty"):
        dataset_import_create(name="X", shape="soft", data=b"")
    with pytest.raises(ValidationError, match="unknown GEMS"):
        dataset_import_create(name="X", shape="tags", data=b"external_id,tags\n", tag_map={"happy": {"joy": 1}})
    assert not LabelDataset.objects.exists()


def test_admin_upload_runs_the_task_and_shows_the_report(client, researcher, catalog, django_capture_on_commit_callbacks):
    researcher.is_staff = True
    researcher.save(update_fields=["is_staff"])
    client.force_login(researcher)
    url = reverse("admin:surveys_labeldataset_add")
    assert client.get(url).status_code == 200
    upload = SimpleUploadedFile("emotify.csv", emotify([(0, "r1", {"wonder"}), (0, "r2", {"wonder"}), (1, "r1", {"power"})]).encode())
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(url, {"name": "Emotify", "shape": "raters", "file": upload, "scale_low": 1, "scale_high": 9})
    assert answer.status_code == 302
    dataset = LabelDataset.objects.get(name="Emotify")
    assert dataset.status == RunStatus.DONE and dataset.songs_matched == 2
    page = client.get(reverse("admin:surveys_labeldataset_change", args=[dataset.pk])).content.decode()
    assert "2 of 2" in page and "Krippendorff" in page and "r1" in page
    bad = client.post(url, {"name": "X", "shape": "tags", "file": SimpleUploadedFile("t.csv", b"external_id,tags\n"),
                            "scale_low": 1, "scale_high": 9, "tag_map": "{not json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.content.decode()
    listing = client.get(reverse("admin:surveys_labeldataset_changelist")).content.decode()
    assert "Emotify" in listing


def test_management_command(catalog, tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "deam.csv"
    path.write_text("external_id,valence,arousal\nemo-1,5,5\n")
    call_command("import_label_dataset", str(path), "--name", "DEAM", "--shape", "va", "--scale", "1-9")
    assert LabelDataset.objects.get(name="DEAM").songs_matched == 1
    path.write_text("external_id,valence,arousal\nemo-1,50,5\n")
    with pytest.raises(CommandError, match="rows have problems"):
        call_command("import_label_dataset", str(path), "--name", "DEAM2", "--shape", "va")
    with pytest.raises(CommandError, match="LO-HI"):
        call_command("import_label_dataset", str(path), "--name", "DEAM3", "--shape", "va", "--scale", "nine")


def test_held_out_evaluation_learns_from_other_labels_only(catalog, researcher, client, django_capture_on_commit_callbacks):
    """The data set's own tracks never train the methods; figures appear on the admin page."""
    from recommender.services.labels import track_labels_bulk_set
    from studies.surveys.datasets import dataset_evaluate

    va = np.array([[2 * t.valence - 1, 2 * t.energy - 1] for t in catalog])
    gems = va_to_gems(np.clip(va, -1, 1))
    track_labels_bulk_set(track_ids=[t.pk for t in catalog[:8]], source="survey", gems=gems[:8])
    lines = [f"external_id,{HEADER}"] + [f"emo-{i}," + ",".join(f"{x:.6f}" for x in gems[i]) for i in range(6, 12)]
    dataset = run("Held", "soft", "\n".join(lines) + "\n")
    figures = dataset_evaluate(dataset=dataset)
    assert figures["held_out"] == 6 and figures["trained_on"] == 6  # tracks 6 and 7 belong to the data set
    methods = {s["method"] for s in figures["scores"]}
    assert {"label spreading (soft, ours)", "population prior", "supervised k-NN (labelled only)"} <= methods
    assert all(s["n"] == 6 for s in figures["scores"])

    researcher.is_staff = True
    researcher.save(update_fields=["is_staff"])
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("admin:surveys_labeldataset_evaluate", args=[dataset.pk]))
    assert answer.status_code == 302
    page = client.get(reverse("admin:surveys_labeldataset_change", args=[dataset.pk])).content.decode()
    assert "How well does Attune predict" in page and "population prior" in page and "dataset-evaluate" in page
    assert client.get(reverse("admin:surveys_labeldataset_evaluate", args=[dataset.pk])).status_code == 405


def test_held_out_evaluation_needs_something_else_to_learn_from(catalog):
    from studies.surveys.datasets import dataset_evaluate

    dataset = run("Alone", "soft", f"external_id,{HEADER}\nemo-0,1,0,0,0,0,0,0,0,0\nemo-1,0,1,0,0,0,0,0,0,0\n")
    with pytest.raises(ValidationError, match="Nothing to learn from outside"):
        dataset_evaluate(dataset=dataset)
