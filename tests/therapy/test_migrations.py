"""The therapy models moved from accounts and recommender with their rows (issue 15): rows
written under the old apps' tables are there, under therapy's, after migrating forward; and
the way back restores them where they were."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [
    ("accounts", "0004_username_confusable_skeleton"),
    ("recommender", "0005_audio_checked_by_content_generated_names"),
    ("therapy", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state([t for t in targets if t[1] is not None]).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_in_the_therapy_tables_after_it():
    old = _migrate(BEFORE)
    User = old.get_model("accounts", "User")
    therapist = User.objects.create(username="mig-therapist", role="therapist", participant_code="P-MIGT0001")
    client = User.objects.create(username="mig-client", role="participant", participant_code="P-MIGC0001")
    now = timezone.now()
    old.get_model("accounts", "TherapistInvite").objects.create(
        therapist=therapist, code="ABCD-EFGH", expires_at=now + timedelta(days=3), used_by=client, used_at=now
    )
    link = old.get_model("accounts", "TherapistLink").objects.create(therapist=therapist, client=client)
    old.get_model("accounts", "TherapistNote").objects.create(therapist=therapist, client=client, text="kept")
    playlist = old.get_model("recommender", "Playlist").objects.create(
        owner=client, title="p", strategy="curated", start_gems=[1 / 9] * 9, start_va=[0.0, 0.0], requested_tracks=1
    )
    assignment = old.get_model("recommender", "Assignment").objects.create(
        therapist=therapist, client=client, playlist=playlist, kind="curated", instructions="breathe",
        start_date=date(2026, 1, 1), end_date=date(2026, 1, 2),
    )
    old.get_model("recommender", "AssignmentOccurrence").objects.create(
        assignment=assignment, available_from=date(2026, 1, 1), due_date=date(2026, 1, 2), status="done", session_id=7
    )

    new = _migrate(_latest())
    assert new.get_model("therapy", "TherapistLink")._meta.db_table == "therapy_therapistlink"
    assert new.get_model("therapy", "TherapistLink").objects.get(pk=link.pk).client_id == client.pk
    assert new.get_model("therapy", "TherapistInvite").objects.get(code="ABCD-EFGH").used_by_id == client.pk
    assert new.get_model("therapy", "TherapistNote").objects.get().text == "kept"
    moved = new.get_model("therapy", "Assignment").objects.get(pk=assignment.pk)
    assert (moved.instructions, moved.playlist_id, moved.therapist_id) == ("breathe", playlist.pk, therapist.pk)
    occurrence = new.get_model("therapy", "AssignmentOccurrence").objects.get()
    assert (occurrence.assignment_id, occurrence.status, occurrence.session_id) == (assignment.pk, "done", 7)
    tables = set(connection.introspection.table_names())
    assert {"therapy_therapistlink", "therapy_assignmentoccurrence"} <= tables
    assert not tables & {"accounts_therapistlink", "recommender_assignment"}
    with pytest.raises(LookupError):
        new.get_model("accounts", "TherapistLink")

    # and back: the rows return to the old apps' tables
    back = _migrate(BEFORE)
    assert back.get_model("accounts", "TherapistNote").objects.get().text == "kept"
    assert back.get_model("recommender", "AssignmentOccurrence").objects.get().session_id == 7
    _migrate(_latest())


@pytest.mark.django_db(transaction=True)
def test_the_daily_missed_task_points_at_therapy_after_migrating():
    name = "listening: mark overdue therapist assignments missed"
    old = _migrate([("therapy", "0002_tables_renamed"), ("listening", "0003_assignments_missed_beat")])
    PeriodicTask = old.get_model("django_celery_beat", "PeriodicTask")
    every = old.get_model("django_celery_beat", "IntervalSchedule").objects.create(every=1, period="hours")
    PeriodicTask.objects.update_or_create(
        name=name, defaults={"task": "studies.listening.tasks.assignment_occurrences_mark_missed", "interval": every}
    )
    new = _migrate(_latest())
    task = new.get_model("django_celery_beat", "PeriodicTask").objects.get(name=name)
    assert task.task == "therapy.tasks.assignment_occurrences_mark_missed"
    back = _migrate([("therapy", "0002_tables_renamed"), ("listening", "0003_assignments_missed_beat")])
    assert back.get_model("django_celery_beat", "PeriodicTask").objects.get(name=name).task == (
        "studies.listening.tasks.assignment_occurrences_mark_missed"
    )
    _migrate(_latest())
