"""Simulated participants taking real listening sessions, so an experiment's results page has data
(demos and the browser test). Nothing here is used for real participants.

Every simulated session goes through the real services: ``listening.services.session_start``
(which asks the experiment hook for the strategy and records the exposure), playback events
through ``event_record``, and ``session_complete`` (or ``session_abandon``). Only the person is
simulated, by this stated model:

- Participant i has a stable responsiveness ``r_i ~ N(0, 0.10)`` and each session its own
  noise ``N(0, 0.12)`` (so the intra-class correlation of the closed fraction is
  0.01 / (0.01 + 0.0144) ≈ 0.41). With ``icc`` given, the same total variance 0.0244 is split
  as ``r_i ~ N(0, √(icc · 0.0244))`` and session noise ``N(0, √((1 − icc) · 0.0244))``, so a
  researcher can see the plan's assumed ICC play out.
- Each participant takes a number of sessions drawn uniformly from ``sessions_per_participant``
  (an inclusive (low, high) range; a single number means exactly that many).
- Mood before: valence ~ U(-0.9, 0.1), arousal ~ U(-0.8, 0.8) (someone who wants to feel better);
  desired mood: valence ~ U(0.4, 0.8), arousal ~ U(-0.5, 0.2) (calm and pleasant).
- The session closes a fraction ``f = EFFECT[strategy] + r_i + N(0, 0.12)`` of the way from the
  mood before to the desired mood, plus N(0, 0.08) noise on each axis, clipped to [-1, 1]. So the
  expected mood shift toward the target is ``EFFECT[strategy] × distance before``: the iso
  principle closes 0.30 of the distance, the random control 0.10.
- Each track is skipped with probability SKIP[strategy]; the session is completed with
  probability COMPLETE[strategy], otherwise abandoned after a random number of tracks.
- Reflection rating: round(2.5 + 4 f + N(0, 0.7)), clipped to 1..5.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import consent_set, user_set_mode
from studies.experiments.models import Experiment, Exposure, Status
from studies.listening.models import PlannedTrack
from studies.listening.mood import MoodInput
from studies.listening.services.events import event_record
from studies.listening.services.sessions import session_abandon, session_complete, session_start

EFFECT = {"random": 0.10, "iso": 0.30, "interpolation": 0.25, "mapping": 0.25, "seed_track": 0.20, "cluster": 0.20,
          "personal": 0.25, "gan": 0.20}
SKIP = {"random": 0.35}
SKIP_DEFAULT = 0.18
COMPLETE = {"random": 0.72}
COMPLETE_DEFAULT = 0.85
USERNAME_PREFIX = "sim-"


@dataclass(frozen=True)
class SimulationReport:
    participants: int
    sessions: int
    exposed_here: int
    completed: int
    abandoned: int
    by_variant: dict[str, int]


def _participant(*, mode: str) -> User:
    user = User.objects.create_user(username=f"{USERNAME_PREFIX}{secrets.token_hex(5)}", password=None)
    consent_set(user=user, purpose="research_data", granted=True)
    if user.mode != mode:
        user_set_mode(user=user, mode=mode)
    return user


def _clip(x: float) -> float:
    return float(np.clip(x, -1.0, 1.0))


TOTAL_VARIANCE = 0.10**2 + 0.12**2


def _one_session(*, user: User, rng: np.random.Generator, responsiveness: float, tracks: int,
                 session_sd: float = 0.12) -> tuple[str, bool]:

    pre = (float(rng.uniform(-0.9, 0.1)), float(rng.uniform(-0.8, 0.8)))
    desired = (float(rng.uniform(0.4, 0.8)), float(rng.uniform(-0.5, 0.2)))
    session = session_start(user=user, current=MoodInput(valence=pre[0], arousal=pre[1]),
                                      desired=MoodInput(valence=desired[0], arousal=desired[1]),
                                      length_tracks=tracks, length_minutes=None, strategy=None, mode=user.mode)
    strategy = session.strategy
    queue = list(PlannedTrack.objects.filter(session=session).order_by("position").values_list("position", "track_id"))
    completes = rng.random() < COMPLETE.get(strategy, COMPLETE_DEFAULT)
    played = queue if completes else queue[: int(rng.integers(1, max(2, len(queue))))]
    for position, track_id in played:
        for kind in ("started", "skipped" if rng.random() < SKIP.get(strategy, SKIP_DEFAULT) else "completed"):
            event_record(user=user, session_id=session.pk, event_id=uuid.uuid4(), kind=kind,
                                   track_id=track_id, position=position, seconds_played=None,
                                   occurred_at=timezone.now(), payload={})
    if not completes:
        session_abandon(user=user, session_id=session.pk)
        return strategy, False
    f = EFFECT.get(strategy, 0.2) + responsiveness + float(rng.normal(0, session_sd))
    post = (_clip(pre[0] + f * (desired[0] - pre[0]) + rng.normal(0, 0.08)),
            _clip(pre[1] + f * (desired[1] - pre[1]) + rng.normal(0, 0.08)))
    rating = int(np.clip(round(2.5 + 4 * f + rng.normal(0, 0.7)), 1, 5))
    session_complete(user=user, session_id=session.pk, post=MoodInput(valence=post[0], arousal=post[1]),
                               reflection_rating=rating, reflection_text="")
    return strategy, True


def simulation_run(*, experiment: Experiment, participants: int, sessions_per_participant: int | tuple[int, int] = 1,
                   tracks: int = 4, seed: int = 0, icc: float | None = None) -> SimulationReport:
    """Create ``participants`` simulated people with research consent and run their sessions."""
    experiment.refresh_from_db()
    if experiment.status != Status.RUNNING:
        raise ValidationError(f"{experiment.name!r} is {experiment.get_status_display().lower()}; start it first "
                              "(simulated sessions are assigned only by a running experiment).")
    lo, hi = (sessions_per_participant if isinstance(sessions_per_participant, tuple)
              else (sessions_per_participant, sessions_per_participant))
    if participants < 1 or lo < 1 or hi < lo or tracks < 1:
        raise ValidationError("participants, sessions per participant and tracks must be at least 1 "
                              "(and the session range must run from low to high).")
    if icc is not None and not 0.0 <= icc < 1.0:
        raise ValidationError(f"the ICC must lie in [0, 1); got {icc}.")
    person_sd, session_sd = 0.10, 0.12
    if icc is not None:
        person_sd, session_sd = float(np.sqrt(icc * TOTAL_VARIANCE)), float(np.sqrt((1 - icc) * TOTAL_VARIANCE))
    rng = np.random.default_rng(seed)
    mode = "therapy" if experiment.eligible_modes == "therapy" else "personal"
    before = Exposure.objects.filter(experiment=experiment).count()
    sessions = completed = 0
    by_strategy: dict[str, int] = {}
    for _ in range(participants):
        with transaction.atomic():
            user = _participant(mode=mode)
        responsiveness = float(rng.normal(0, person_sd))
        for _ in range(lo if lo == hi else int(rng.integers(lo, hi + 1))):
            strategy, done = _one_session(user=user, rng=rng, responsiveness=responsiveness, tracks=tracks,
                                          session_sd=session_sd)
            sessions += 1
            completed += done
            by_strategy[strategy] = by_strategy.get(strategy, 0) + 1
    exposed = Exposure.objects.filter(experiment=experiment).count() - before
    return SimulationReport(participants=participants, sessions=sessions, exposed_here=exposed, completed=completed,
                            abandoned=sessions - completed, by_variant=by_strategy)
