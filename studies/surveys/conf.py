"""Settings of studies.surveys (override with ATTUNE_SURVEYS_* in Django settings)."""

from __future__ import annotations

from django.conf import settings

# Listening time above this is refused as malformed (seconds).
MAX_LISTENED_SECONDS: int = getattr(settings, "ATTUNE_SURVEYS_MAX_LISTENED_SECONDS", 3600)
# Survey-label confidence = w / (w + this), w the effective (reliability-weighted) raters.
CONFIDENCE_HALF_RATERS: float = getattr(settings, "ATTUNE_SURVEYS_CONFIDENCE_HALF_RATERS", 2.0)
# Neighbours in the propagation graph.
PROPAGATION_K: int = getattr(settings, "ATTUNE_SURVEYS_PROPAGATION_K", 10)
# Held-out evaluation of propagation: folds, and the survey-labelled tracks needed to run it.
EVALUATION_FOLDS: int = getattr(settings, "ATTUNE_SURVEYS_EVALUATION_FOLDS", 5)
EVALUATION_MIN_LABELLED: int = getattr(settings, "ATTUNE_SURVEYS_EVALUATION_MIN_LABELLED", 6)
# CSV exports: rows per response chunk.
EXPORT_CHUNK: int = getattr(settings, "ATTUNE_SURVEYS_EXPORT_CHUNK", 2000)
# Music emotion recognition: model file (relative paths are under MODELS_DIR) and CV folds.
MER_MODEL_FILE: str = getattr(settings, "ATTUNE_SURVEYS_MER_MODEL_FILE", "mer/mer-svm.joblib")
MER_FOLDS: int = getattr(settings, "ATTUNE_SURVEYS_MER_FOLDS", 5)
# Tracks one browser session may pass over per survey (kept in the session, not the database).
MAX_SKIPS: int = getattr(settings, "ATTUNE_SURVEYS_MAX_SKIPS", 50)
# next_track_for looks at this many least-rated eligible tracks (active learning ranks them).
NEXT_TRACK_CANDIDATES: int = getattr(settings, "ATTUNE_SURVEYS_NEXT_TRACK_CANDIDATES", 2000)

# Publish gates (shown on the survey page). A run's labels become what readers and the engine
# see only when its gate passes; otherwise they stay a candidate.
# Aggregation: at least this many distinct raters and labelled tracks.
AGGREGATE_MIN_RATERS: int = getattr(settings, "ATTUNE_SURVEYS_AGGREGATE_MIN_RATERS", 2)
AGGREGATE_MIN_TRACKS: int = getattr(settings, "ATTUNE_SURVEYS_AGGREGATE_MIN_TRACKS", 3)
# Tracks with this many raters or fewer are listed as a warning.
AGGREGATE_WARN_RATERS: int = getattr(settings, "ATTUNE_SURVEYS_AGGREGATE_WARN_RATERS", 3)
# Propagation: cross-validated JSD must beat each of these baselines ("prior", "knn") with a 95%
# paired bootstrap interval below zero, on at least this many survey-labelled tracks.
PROPAGATION_GATE_BASELINES: tuple[str, ...] = tuple(
    getattr(settings, "ATTUNE_SURVEYS_PROPAGATION_GATE_BASELINES", ("prior", "knn"))
)
PROPAGATION_MIN_LABELLED: int = getattr(settings, "ATTUNE_SURVEYS_PROPAGATION_MIN_LABELLED", 10)
# The k and alpha grids propagation is tuned over (supervised k-NN is tuned over the same k).
PROPAGATION_KS: tuple[int, ...] = tuple(getattr(settings, "ATTUNE_SURVEYS_PROPAGATION_KS", (5, 10, 20)))
PROPAGATION_ALPHAS: tuple[float, ...] = tuple(getattr(settings, "ATTUNE_SURVEYS_PROPAGATION_ALPHAS", (0.5, 0.8, 0.95)))
BOOTSTRAP_SAMPLES: int = getattr(settings, "ATTUNE_SURVEYS_BOOTSTRAP_SAMPLES", 2000)


def gate_settings() -> dict:
    """The gate settings in force, for the page and for each run's record."""
    return {
        "aggregate_min_raters": AGGREGATE_MIN_RATERS,
        "aggregate_min_tracks": AGGREGATE_MIN_TRACKS,
        "aggregate_warn_raters": AGGREGATE_WARN_RATERS,
        "propagation_baselines": list(PROPAGATION_GATE_BASELINES),
        "propagation_min_labelled": PROPAGATION_MIN_LABELLED,
        "propagation_ks": list(PROPAGATION_KS),
        "propagation_alphas": list(PROPAGATION_ALPHAS),
        "bootstrap_samples": BOOTSTRAP_SAMPLES,
        "mer": "soft output beats the population prior (JSD) on grouped held-out folds, 95% bootstrap interval below zero",
    }
