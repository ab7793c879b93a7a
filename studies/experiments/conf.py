"""Settings of studies.experiments (read from django.conf.settings with defaults).

Declared once (config/app_settings.py) and read at call time: ``conf.NAME`` is
``settings.ATTUNE_...`` or its default."""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting('BOOTSTRAP_RESAMPLES', 'ATTUNE_EXPERIMENT_BOOTSTRAP_RESAMPLES', int, 4000,
            'Bootstrap resamples for the interval of the difference (fixed seed: the same data give the same interval).'),
    Setting('SEQUENTIAL_LOOKS', 'ATTUNE_EXPERIMENT_SEQUENTIAL_LOOKS', int, 20,
            'Number of looks drawn on the cumulative-effect plot when the data span fewer than three days.'),
    Setting('SIMULATE_MAX_PARTICIPANTS', 'ATTUNE_EXPERIMENT_SIMULATE_MAX', int, 2000,
            'Largest number of participants `simulate_experiment` creates in one run.'),
    Setting('SNAPSHOTS_KEPT', 'ATTUNE_EXPERIMENT_SNAPSHOTS_KEPT', int, 48,
            'Analysis snapshots kept per experiment (older ones are deleted when a new one is stored).'),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)
