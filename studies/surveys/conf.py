"""Settings of studies.surveys (override with ATTUNE_SURVEYS_* in Django settings).

Declared once (config/app_settings.py) and read at call time: ``conf.NAME`` is
``settings.ATTUNE_...`` or its default."""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting('MAX_LISTENED_SECONDS', 'ATTUNE_SURVEYS_MAX_LISTENED_SECONDS', int, 3600,
            'Listening time above this is refused as malformed (seconds).'),
    Setting('CONFIDENCE_HALF_RATERS', 'ATTUNE_SURVEYS_CONFIDENCE_HALF_RATERS', float, 2.0,
            'Survey-label confidence = w / (w + this), w the effective (reliability-weighted) raters.'),
    Setting('PROPAGATION_K', 'ATTUNE_SURVEYS_PROPAGATION_K', int, 10,
            'Neighbours in the propagation graph.'),
    Setting('EVALUATION_FOLDS', 'ATTUNE_SURVEYS_EVALUATION_FOLDS', int, 5,
            'Held-out evaluation of propagation: folds, and the survey-labelled tracks needed to run it.'),
    Setting('EVALUATION_MIN_LABELLED', 'ATTUNE_SURVEYS_EVALUATION_MIN_LABELLED', int, 6,
            'survey-labelled tracks needed to evaluate propagation'),
    Setting('EXPORT_CHUNK', 'ATTUNE_SURVEYS_EXPORT_CHUNK', int, 2000,
            'CSV exports: rows per response chunk.'),
    Setting('MER_MODEL_FILE', 'ATTUNE_SURVEYS_MER_MODEL_FILE', str, 'mer/mer-svm.joblib',
            'Music emotion recognition: model file (relative paths are under MODELS_DIR) and CV folds.'),
    Setting('MER_FOLDS', 'ATTUNE_SURVEYS_MER_FOLDS', int, 5,
            'cross-validation folds of music emotion recognition'),
    Setting('MAX_SKIPS', 'ATTUNE_SURVEYS_MAX_SKIPS', int, 50,
            'Tracks one browser session may pass over per survey (kept in the session, not the database).'),
    Setting('NEXT_TRACK_CANDIDATES', 'ATTUNE_SURVEYS_NEXT_TRACK_CANDIDATES', int, 2000,
            'next_track_for looks at this many least-rated eligible tracks (active learning ranks them).'),
    Setting('AGGREGATE_MIN_RATERS', 'ATTUNE_SURVEYS_AGGREGATE_MIN_RATERS', int, 2,
            "Publish gates (shown on the survey page). A run's labels become what readers and the engine see only when its gate passes; otherwise they stay a candidate. Aggregation: at least this many distinct raters and labelled tracks."),
    Setting('AGGREGATE_MIN_TRACKS', 'ATTUNE_SURVEYS_AGGREGATE_MIN_TRACKS', int, 3,
            'labelled tracks an aggregation run needs to publish'),
    Setting('AGGREGATE_WARN_RATERS', 'ATTUNE_SURVEYS_AGGREGATE_WARN_RATERS', int, 3,
            'Tracks with this many raters or fewer are listed as a warning.'),
    Setting('PROPAGATION_GATE_BASELINES', 'ATTUNE_SURVEYS_PROPAGATION_GATE_BASELINES', tuple, ('prior', 'knn'),
            'Propagation: cross-validated JSD must beat each of these baselines ("prior", "knn") with a 95% paired bootstrap interval below zero, on at least this many survey-labelled tracks.'),
    Setting('PROPAGATION_MIN_LABELLED', 'ATTUNE_SURVEYS_PROPAGATION_MIN_LABELLED', int, 10,
            'survey-labelled tracks a propagation run needs before its gate is tried'),
    Setting('PROPAGATION_KS', 'ATTUNE_SURVEYS_PROPAGATION_KS', tuple, (5, 10, 20),
            'The k and alpha grids propagation is tuned over (supervised k-NN is tuned over the same k).'),
    Setting('PROPAGATION_ALPHAS', 'ATTUNE_SURVEYS_PROPAGATION_ALPHAS', tuple, (0.5, 0.8, 0.95),
            'the alpha grid propagation is tuned over'),
    Setting('BOOTSTRAP_SAMPLES', 'ATTUNE_SURVEYS_BOOTSTRAP_SAMPLES', int, 2000,
            'paired bootstrap resamples of the publish gates'),
)


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)


def gate_settings() -> dict[str, Any]:
    """The gate settings in force, for the page and for each run's record."""
    return {
        "aggregate_min_raters": SETTINGS.value("AGGREGATE_MIN_RATERS"),
        "aggregate_min_tracks": SETTINGS.value("AGGREGATE_MIN_TRACKS"),
        "aggregate_warn_raters": SETTINGS.value("AGGREGATE_WARN_RATERS"),
        "propagation_baselines": list(SETTINGS.value("PROPAGATION_GATE_BASELINES")),
        "propagation_min_labelled": SETTINGS.value("PROPAGATION_MIN_LABELLED"),
        "propagation_ks": list(SETTINGS.value("PROPAGATION_KS")),
        "propagation_alphas": list(SETTINGS.value("PROPAGATION_ALPHAS")),
        "bootstrap_samples": SETTINGS.value("BOOTSTRAP_SAMPLES"),
        "mer": "soft output beats the population prior (JSD) on grouped held-out folds, 95% bootstrap interval below zero",
    }
