"""Power and sample size for the two-sample t-test, and the plan of an experiment."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as sps

from studies.stats._common import _check_alpha

# ---------------------------------------------------------------------------------------------
# power and sample size (two-sample t-test)


def power_two_sample(*, effect_size: float, n_control: float, ratio: float = 1.0, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test; effect in sd units, n_treatment = ratio · n_control."""
    alpha = _check_alpha(alpha)
    if ratio <= 0:
        raise ValueError("ratio must be positive")
    n1 = float(n_control)
    n2 = ratio * n1
    if n1 < 2 or n2 < 2:
        raise ValueError("each arm needs at least 2 observations")
    df = n1 + n2 - 2
    nc = effect_size * math.sqrt(n1 * n2 / (n1 + n2))
    crit = float(sps.t.isf(alpha / 2, df))
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


@dataclass(frozen=True)
class SampleSizePlan:
    effect_size: float  # in sd units (Cohen's d)
    alpha: float
    power: float  # requested
    achieved_power: float  # with the rounded-up sizes
    n_control: int
    n_treatment: int

    @property
    def total(self) -> int:
        return self.n_control + self.n_treatment


def _effect_size(mde: float, sd: float | None) -> float:
    if sd is None:
        d = float(mde)
    else:
        if not sd > 0:
            raise ValueError("sd must be positive")
        d = float(mde) / float(sd)
    if not math.isfinite(d) or d == 0:
        raise ValueError("the minimum detectable effect must be a non-zero finite number")
    return abs(d)


def sample_size_two_sample(*, mde: float, sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
                           ratio: float = 1.0) -> SampleSizePlan:
    """Smallest n_control (and n_treatment = ceil(ratio · n_control)) reaching ``power``.

    ``mde`` is in standard-deviation units unless ``sd`` is given, in which case it is raw
    (same units as the outcome) and the effect size is ``mde / sd``.
    """
    alpha = _check_alpha(alpha)
    if not 0 < power < 1 or power <= alpha:
        raise ValueError("power must lie between alpha and 1")
    if ratio <= 0:
        raise ValueError("ratio must be positive")
    d = _effect_size(mde, sd)
    lo = max(2.0, 2.0 / ratio)

    def gap(n: float) -> float:
        return power_two_sample(effect_size=d, n_control=n, ratio=ratio, alpha=alpha) - power

    hi = lo * 2
    while gap(hi) < 0:
        hi *= 2
        if hi > 1e9:
            raise ValueError("effect too small: more than a billion participants would be needed")
    n_float = lo if gap(lo) >= 0 else optimize.brentq(gap, lo, hi, xtol=1e-6)
    n1 = math.ceil(n_float - 1e-9)
    while True:  # the treatment arm is rounded up too; make sure the integer plan really reaches the power
        n2 = math.ceil(ratio * n1 - 1e-9)
        achieved = power_two_sample(effect_size=d, n_control=n1, ratio=n2 / n1, alpha=alpha)
        if achieved >= power:
            break
        n1 += 1
    return SampleSizePlan(effect_size=d, alpha=alpha, power=power, achieved_power=achieved, n_control=n1,
                          n_treatment=n2)


def minimum_detectable_effect(*, n_control: int, ratio: float = 1.0, alpha: float = 0.05,
                              power: float = 0.8) -> float:
    """Smallest effect (sd units) detectable with the given power at these sizes."""
    if not 0 < power < 1 or power <= alpha:
        raise ValueError("power must lie between alpha and 1")

    def gap(d: float) -> float:
        return power_two_sample(effect_size=d, n_control=n_control, ratio=ratio, alpha=alpha) - power

    hi = 1.0
    while gap(hi) < 0:  # power rises with d; bracket before solving (huge d overflows the noncentral t)
        hi *= 2.0
    return float(optimize.brentq(gap, 1e-9, hi, xtol=1e-12))


@dataclass(frozen=True)
class ExperimentPlan:
    weights: tuple[float, ...]
    n_per_variant: tuple[int, ...]
    effect_size: float
    alpha: float
    power: float

    @property
    def total(self) -> int:
        return sum(self.n_per_variant)


def plan_experiment(*, weights: Sequence[float], mde: float, sd: float | None = None, alpha: float = 0.05,
                    power: float = 0.8, control_index: int = 0) -> ExperimentPlan:
    """Planned sizes for weighted variants: every treatment vs the control reaches ``power``.

    The total is the smallest that, split by the allocation weights, gives each
    treatment-vs-control comparison the requested power (each comparison at level α).
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.size < 2 or np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("need at least two variants with positive weights")
    if not 0 <= control_index < w.size:
        raise ValueError("control_index out of range")
    share = w / w.sum()
    need_total = 0.0
    for i in range(w.size):
        if i == control_index:
            continue
        plan = sample_size_two_sample(mde=mde, sd=sd, alpha=alpha, power=power,
                                      ratio=float(w[i] / w[control_index]))
        need_total = max(need_total, plan.n_control / share[control_index], plan.n_treatment / share[i])
    n = tuple(int(math.ceil(need_total * s - 1e-9)) for s in share)
    return ExperimentPlan(weights=tuple(float(x) for x in w), n_per_variant=n, effect_size=_effect_size(mde, sd),
                          alpha=float(alpha), power=float(power))




# ---------------------------------------------------------------------------------------------
# plans in participants: repeated sessions per participant


def design_effect(*, icc: float, sessions_per_participant: float, size_cv: float = 0.0) -> float:
    """Variance inflation of a session-weighted mean when each participant takes several sessions.

    ``1 + ((1 + cv²)·m̄ − 1)·ICC`` (Kish 1965; Eldridge, Ashby & Kerry 2006 for unequal cluster
    sizes with coefficient of variation ``cv``); with equal sizes it is ``1 + (m̄ − 1)·ICC``.
    """
    check_icc(icc)
    if not sessions_per_participant >= 1:
        raise ValueError("expected sessions per participant must be at least 1")
    if not size_cv >= 0:
        raise ValueError("the coefficient of variation of sessions per participant must be non-negative")
    m_eff = (1.0 + size_cv * size_cv) * float(sessions_per_participant)
    return 1.0 + (m_eff - 1.0) * float(icc)


def check_icc(icc: float) -> float:
    """An intra-class correlation for planning must lie in [0, 1): 1 would mean every session of a
    participant is identical, so extra sessions carry no information."""
    if not isinstance(icc, int | float) or not math.isfinite(icc) or not 0.0 <= icc < 1.0:
        raise ValueError(f"the ICC must lie in [0, 1), got {icc!r}")
    return float(icc)


@dataclass(frozen=True)
class ParticipantPlan:
    icc: float
    sessions_per_participant: float
    design_effect: float
    effect_size: float
    alpha: float
    power: float
    participants_per_variant: tuple[int, ...]
    sessions_per_variant: tuple[int, ...]  # expected: participants × sessions per participant
    within_subject: bool = False  # crossover: every participant meets every variant

    @property
    def participants(self) -> int:
        if self.within_subject:
            return self.participants_per_variant[0]
        return sum(self.participants_per_variant)

    @property
    def sessions(self) -> int:
        return sum(self.sessions_per_variant)


def plan_participants(*, weights: Sequence[float], mde: float, sd: float | None = None, alpha: float = 0.05,
                      power: float = 0.8, icc: float = 0.0, sessions_per_participant: float = 1.0,
                      size_cv: float = 0.0, control_index: int = 0) -> ParticipantPlan:
    """Planned participants per variant when each takes ``sessions_per_participant`` sessions.

    Each arm's variance is ``σ²·DE / (P·m̄)``: the session-level plan (:func:`plan_experiment`,
    the two-sample t power) gives effective sessions per arm, and participants are
    ``⌈sessions × DE / m̄⌉``. ``sd`` is the session-level (total) standard deviation.
    """
    deff = design_effect(icc=icc, sessions_per_participant=sessions_per_participant, size_cv=size_cv)
    base = plan_experiment(weights=weights, mde=mde, sd=sd, alpha=alpha, power=power, control_index=control_index)
    m = float(sessions_per_participant)
    people = tuple(max(2, int(math.ceil(n * deff / m - 1e-9))) for n in base.n_per_variant)
    sessions = tuple(int(math.ceil(p * m - 1e-9)) for p in people)
    return ParticipantPlan(icc=float(icc), sessions_per_participant=m, design_effect=deff,
                           effect_size=base.effect_size, alpha=base.alpha, power=base.power,
                           participants_per_variant=people, sessions_per_variant=sessions)


def plan_crossover(*, n_variants: int, mde: float, sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
                   icc: float = 0.0, sessions_per_participant: float = 2.0) -> ParticipantPlan:
    """Participants needed for a within-subject (crossover) design with ``n_variants`` conditions.

    Each participant's sessions are split evenly over the conditions, so a treatment-minus-control
    difference of per-participant means has variance ``σ²(1 − ICC)·2k/m`` (the participant effect
    cancels). Power of the paired t-test with participants − 2 degrees of freedom (the period
    effect costs one) from the noncentral t; the smallest participant count, rounded up to a
    multiple of the Latin square's number of orders so every order is used equally.
    """
    alpha = _check_alpha(alpha)
    check_icc(icc)
    if n_variants < 2:
        raise ValueError("a within-subject design needs at least two variants")
    m = float(sessions_per_participant)
    if m < n_variants:
        raise ValueError(f"each participant must take at least {n_variants} sessions to meet every variant once")
    if not 0 < power < 1 or power <= alpha:
        raise ValueError("power must lie between alpha and 1")
    d = _effect_size(mde, sd)
    var_d = (1.0 - icc) * 2.0 * n_variants / m  # in sd² units
    orders = n_variants if n_variants % 2 == 0 else 2 * n_variants
    people = max(4, orders)
    while True:
        df = people - 2
        nc = d / math.sqrt(var_d / people)
        crit = float(sps.t.isf(alpha / 2, df))
        achieved = float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))
        if achieved >= power:
            break
        people += 1
        if people > 10_000_000:
            raise ValueError("effect too small: more than ten million participants would be needed")
    people = int(math.ceil(people / orders) * orders)
    return ParticipantPlan(icc=float(icc), sessions_per_participant=m, design_effect=1.0 - icc,
                           effect_size=d, alpha=alpha, power=float(power),
                           participants_per_variant=(people,) * n_variants,
                           sessions_per_variant=(int(math.ceil(people * m / n_variants - 1e-9)),) * n_variants,
                           within_subject=True)
