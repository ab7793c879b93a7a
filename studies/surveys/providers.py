"""The listener's own survey answers as the recommender engine's ListenerProfile.

Registered with `recommender.selectors.register_profile_provider` in SurveysConfig.ready(), so
the `personal` strategy learns which music moves *this* person from what they answered. It is
their own data used only for themselves, so the research consent is not required; only their
own ratings are ever read.

Per track: the mean of the person's answers about it over every survey (planned repeats
included), each answer first made a distribution over the nine GEMS emotions (picks: equal
shares of the picked emotions; intensities: shares of the 0-4 values). Answers with nothing
picked or all intensities 0 say nothing about the emotion and are left out. Liking 4-5 marks
a track as liked, 1-2 as disliked (the latest answer decides); familiarity is not used.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from emotion.vocab import N_GEMS
from recommender.engine.types import ListenerProfile
from studies.surveys.models import Rating

LIKED_FROM = 4
DISLIKED_UP_TO = 2


def survey_profile(user) -> ListenerProfile | None:
    """This person's ListenerProfile from their own survey answers, or None without any."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    rows = Rating.objects.filter(user_id=user.pk).order_by("created_at", "id").values_list("track_id", "answer", "liking")
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = defaultdict(int)
    liking: dict[int, int] = {}
    for track_id, answer, like in rows:
        if like is not None:
            liking[track_id] = like
        values = np.asarray(answer, dtype=np.float64)
        if values.shape != (N_GEMS,) or not np.all(np.isfinite(values)) or np.any(values < 0) or values.sum() <= 0:
            continue
        sums[track_id] = sums.get(track_id, np.zeros(N_GEMS)) + values / values.sum()
        counts[track_id] += 1
    if not sums and not liking:
        return None
    track_ids = sorted(sums)
    gems = np.array([sums[t] / counts[t] for t in track_ids], dtype=np.float64).reshape(-1, N_GEMS)
    return ListenerProfile(
        track_ids=np.array(track_ids, dtype=np.int64),
        gems=gems,
        liked_ids=tuple(sorted(t for t, v in liking.items() if v >= LIKED_FROM)),
        disliked_ids=tuple(sorted(t for t, v in liking.items() if v <= DISLIKED_UP_TO)),
    )
