"""Schedule the daily task that marks overdue therapist assignments missed (django-celery-beat)."""

from django.db import migrations

TASK_NAME = "listening: mark overdue therapist assignments missed"
TASK = "studies.listening.tasks.assignment_occurrences_mark_missed"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.update_or_create(name=TASK_NAME, defaults={"task": TASK, "interval": every, "enabled": True})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("listening", "0002_plannedtrack"),
        ("recommender", "0002_assignments"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
