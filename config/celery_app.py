"""The Celery app. Named celery_app.py so it does not shadow the `celery` library.

Queues: `default` for light work, `ml` for TensorFlow/librosa/propagation. Run the ml
queue with a pool that does not fork after TensorFlow is loaded, e.g.
`celery -A config worker -Q ml --pool threads --concurrency 1` (see platform/README.md).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attune")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
