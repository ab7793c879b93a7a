"""Attune's settings plus one route: the stack's ceiling for bench/events.py.

The server under test runs with DJANGO_SETTINGS_MODULE=bench.ceiling.settings, so Attune's
events API and the ceiling view are served by the same processes, middleware and database.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling.urls"
