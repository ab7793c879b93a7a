"""Settings of studies.experiments (read from django.conf.settings with defaults)."""

from __future__ import annotations

from django.conf import settings

# Bootstrap resamples for the interval of the difference (fixed seed: the same data give the same interval).
BOOTSTRAP_RESAMPLES: int = int(getattr(settings, "ATTUNE_EXPERIMENT_BOOTSTRAP_RESAMPLES", 4000))
# Number of looks drawn on the cumulative-effect plot when the data span fewer than three days.
SEQUENTIAL_LOOKS: int = int(getattr(settings, "ATTUNE_EXPERIMENT_SEQUENTIAL_LOOKS", 20))
# Largest number of participants `simulate_experiment` creates in one run.
SIMULATE_MAX_PARTICIPANTS: int = int(getattr(settings, "ATTUNE_EXPERIMENT_SIMULATE_MAX", 2000))
# Analysis snapshots kept per experiment (older ones are deleted when a new one is stored).
SNAPSHOTS_KEPT: int = int(getattr(settings, "ATTUNE_EXPERIMENT_SNAPSHOTS_KEPT", 48))
