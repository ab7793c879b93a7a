"""The experiment-start hook: how a higher app (studies.recruitment freezes the analysis plan)
reacts to an experiment's first start without experiments importing it.

    from studies.experiments.hooks import register_start_listener
    register_start_listener(analysis_plan_freeze)     # in RecruitmentConfig.ready()

`experiment_start` calls the listener once, right after the first start is committed and the
planned sample size stored; the listener must be idempotent. One
listener at a time (registering again replaces it), as in studies/listening/hooks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_listener: Callable[[Any], None] | None = None


def register_start_listener(fn: Callable[[Any], None] | None) -> Callable[[Any], None] | None:
    """Install `fn(experiment)` (None removes it). Returns the listener it replaced."""
    global _listener
    previous, _listener = _listener, fn
    return previous


def experiment_first_started(experiment: Any) -> None:
    if _listener is not None:
        _listener(experiment)


# --- metrics measured outside listening (instrument change post − pre) -------------------------
# studies.recruitment registers `instrument_change_by_session(*, session_ids, metric) -> {session: value}`
# and the pre score per session; analysis_compute asks through `outcomes_with_metric`.

_metric_source: Callable[..., dict[int, tuple[float, float]]] | None = None


def register_metric_source(fn: Callable[..., dict[int, tuple[float, float]]] | None) -> None:
    """Install `fn(*, session_ids, metric) -> {session_id: (pre, post)}` for "instrument:..." metrics."""
    global _metric_source
    _metric_source = fn


class _WithMetric:
    """A session outcome with two more attributes: the metric's value (post − pre) and its pre score
    (the CUPED covariate, named "<metric>:pre")."""

    def __init__(self, outcome: Any, metric: str, value: float | None, pre: float | None):
        self._outcome = outcome
        self._extra = {metric: value, f"{metric}:pre": pre}

    def __getattr__(self, name: str) -> Any:
        if name in self.__dict__.get("_extra", {}):
            return self._extra[name]
        return getattr(self._outcome, name)


def outcomes_with_metric(outcomes: list[Any], *, metric: str) -> list[Any]:
    """The outcomes unchanged for listening metrics; for an "instrument:..." metric each outcome
    carries the per-session change (None when the session lacks a pre or post answer)."""
    if not metric.startswith("instrument:") or _metric_source is None:
        return outcomes
    values = _metric_source(session_ids=[o.session_id for o in outcomes], metric=metric)
    out = []
    for o in outcomes:
        pre_post = values.get(o.session_id)
        out.append(_WithMetric(o, metric, None if pre_post is None else pre_post[1] - pre_post[0],
                               None if pre_post is None else pre_post[0]))
    return out
