"""Rows that name the moved models by app: their content types (so permissions and the admin's
history keep pointing at them) and the daily Celery beat task that marks overdue occurrences
missed (its task moved from studies.listening.tasks to therapy.tasks)."""

from django.db import migrations

MOVED = {
    "accounts": ("therapistinvite", "therapistlink", "therapistnote"),
    "recommender": ("assignment", "assignmentoccurrence"),
}
TASK_NAME = "listening: mark overdue therapist assignments missed"
OLD_TASK = "studies.listening.tasks.assignment_occurrences_mark_missed"
NEW_TASK = "therapy.tasks.assignment_occurrences_mark_missed"


def _relabel(apps, *, to_therapy: bool) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for old_app, models in MOVED.items():
        src, dst = ("therapy", old_app) if not to_therapy else (old_app, "therapy")
        for model in models:
            if not ContentType.objects.filter(app_label=dst, model=model).exists():
                ContentType.objects.filter(app_label=src, model=model).update(app_label=dst)


def _task(apps, *, task: str) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).update(task=task)


def forward(apps, schema_editor):
    _relabel(apps, to_therapy=True)
    _task(apps, task=NEW_TASK)


def backward(apps, schema_editor):
    _relabel(apps, to_therapy=False)
    _task(apps, task=OLD_TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("therapy", "0002_tables_renamed"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("listening", "0003_assignments_missed_beat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forward, backward)]
