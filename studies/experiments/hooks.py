"""The experiment-start hook: how a higher app (studies.recruitment freezes the analysis plan)
reacts to an experiment's first start without experiments importing it.

    from studies.experiments.hooks import install_start_listener
    install_start_listener(analysis_plan_freeze)     # in config/wiring.py

`experiment_start` calls the listener once, right after the first start is committed and the
planned sample size stored; the listener must be idempotent. One
listener at a time (installing again replaces it), as in studies/listening/hooks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_listener: Callable[[Any], None] | None = None


def install_start_listener(fn: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """Install `fn(experiment)` (None removes it). Returns the listener it replaced."""
    global _listener
    previous, _listener = _listener, fn
    return previous


def experiment_first_started(experiment: Any) -> None:
    if _listener is not None:
        _listener(experiment)


# --- metrics measured outside listening (instrument change post − pre) -------------------------
# config/wiring.py installs studies.recruitment's `instrument_change_by_session(*, session_ids, metric) -> {session: value}`
# and the pre score per session; analysis_compute asks through `outcomes_with_metrics`.

_metric_source: Callable[..., dict[int, tuple[float, float]]] | None = None


def install_metric_source(fn: Callable[..., dict[int, tuple[float, float]]] | None) -> None:
    """Install `fn(*, session_ids, metric) -> {session_id: (pre, post)}` for "instrument:..." metrics."""
    global _metric_source
    _metric_source = fn


class _WithMetrics:
    """A session outcome with more attributes: per instrument metric its value (post − pre) and
    its pre score (the CUPED covariate, named "<metric>:pre")."""

    def __init__(self, outcome: Any, extra: dict[str, float | None]):
        self._outcome = outcome
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("_extra", {})
        if name in extra:
            return extra[name]
        return getattr(self.__dict__["_outcome"], name)


def outcomes_with_metrics(outcomes: list[Any], *, metrics: list[str]) -> list[Any]:
    """The outcomes unchanged for listening metrics; for each "instrument:..." metric (primary or
    secondary) every outcome carries the per-session change (None when the session lacks a pre
    or post answer) and the pre score."""
    wanted = [m for m in dict.fromkeys(metrics) if m.startswith("instrument:")]
    if not wanted or _metric_source is None:
        return outcomes
    ids = [o.session_id for o in outcomes]
    per_metric = {m: _metric_source(session_ids=ids, metric=m) for m in wanted}
    out = []
    for o in outcomes:
        extra: dict[str, float | None] = {}
        for m, values in per_metric.items():
            pre_post = values.get(o.session_id)
            extra[m] = None if pre_post is None else pre_post[1] - pre_post[0]
            extra[f"{m}:pre"] = None if pre_post is None else pre_post[0]
        out.append(_WithMetrics(o, extra))
    return out


# --- recruited participants belong to their study -------------------------------------------
# config/wiring.py installs studies.recruitment's `fn(user) -> experiment id | None`: the experiment a person entered
# through a recruitment link (Prolific, MTurk, SONA) and has not finished. Such a person's sessions
# go to that experiment only, never to another running experiment that happens to accept the mode.

_study_pin: Callable[[Any], int | None] | None = None


def install_study_pin(fn: Callable[[Any], int | None] | None) -> None:
    """Install `fn(user) -> experiment id | None` (None removes it)."""
    global _study_pin
    _study_pin = fn


def pinned_experiment_id(user: Any) -> int | None:
    return None if _study_pin is None else _study_pin(user)
