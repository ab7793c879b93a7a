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
