"""Sequential monitoring: the mixture SPRT (mSPRT) with a normal mixture and the looks it is run at."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from studies.stats._common import InsufficientDataError, _check_alpha, _sample
from studies.stats.cluster import clustered_difference_arrays

# mSPRT burn-in: with plug-in variances a look needs this many outcomes per arm. Measured in the A/A
# simulations (tests/studies/test_stats_validation.py): looking from 2 per arm on pushed the
# false-positive rate to 11-13 % with τ = 1 sd; from 10 per arm on it stays under 3 %.
MSPRT_MIN_PER_ARM = 10
# Clustered mSPRT burn-in, counted in participants per arm (each participant being one independent unit).
# Measured in tests/studies/test_stats_cluster_validation.py (A/A, 100 participants with 1-10 sessions,
# arrivals over 30 days, 30 daily looks, τ = 0.3 sd, 2,000 experiments): false-positive rate 3.3 %, 1.6 %
# and 0.7 % at ICC 0, 0.3 and 0.6 with this burn-in (daily peeking at the fixed-horizon test: 17-23 %).
MSPRT_MIN_PARTICIPANTS_PER_ARM = 10


# ---------------------------------------------------------------------------------------------
# sequential monitoring: mSPRT with a normal mixture


def msprt_log_lambda(effect: ArrayLike, variance: ArrayLike, *, tau: float, theta0: float = 0.0) -> Any:
    """log Λ of the normal-mixture SPRT for difference estimate(s) ``effect`` with variance(s) ``variance``.

    Works elementwise on arrays, so simulations can evaluate many experiments and looks at once.
    """
    if not tau > 0:
        raise ValueError("tau (the mixing standard deviation) must be positive")
    v = np.asarray(variance, dtype=np.float64)
    delta = np.asarray(effect, dtype=np.float64) - theta0
    t2 = tau * tau
    return 0.5 * np.log(v / (v + t2)) + t2 * delta**2 / (2.0 * v * (v + t2))


def msprt_radius(variance: ArrayLike, *, tau: float, alpha: float) -> Any:
    """Half-width of {θ₀ : Λ(θ₀) < 1/α} around the estimate, elementwise."""
    v = np.asarray(variance, dtype=np.float64)
    t2 = tau * tau
    return np.sqrt(2.0 * v * (v + t2) / t2 * (math.log(1.0 / alpha) + 0.5 * np.log((v + t2) / v)))


@dataclass(frozen=True)
class SequentialLook:
    index: int
    n_treatment: int
    n_control: int
    estimate: float  # difference in means at this look
    se: float
    log_lambda: float
    p_value: float  # always-valid: running minimum of 1/Λ
    ci_low: float  # always-valid confidence sequence: running intersection
    ci_high: float
    boundary: float  # the estimate rejects at this look when |estimate − θ₀| ≥ boundary
    rejected: bool  # p_value ≤ α at or before this look
    sessions_treatment: int = 0  # clustered path: n_treatment/n_control count participants, these sessions
    sessions_control: int = 0


@dataclass(frozen=True)
class SequentialResult:
    method: str
    alpha: float
    tau: float
    theta0: float
    looks: tuple[SequentialLook, ...]
    first_rejection: int | None  # index of the first look with p ≤ α

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha

    @property
    def effect(self) -> float:
        return self.looks[-1].estimate

    @property
    def ci_low(self) -> float:
        return self.looks[-1].ci_low

    @property
    def ci_high(self) -> float:
        return self.looks[-1].ci_high

    @property
    def p_value(self) -> float:
        return self.looks[-1].p_value

    @property
    def rejected(self) -> bool:
        return self.first_rejection is not None


def _cumulative_moments(x: np.ndarray, counts: np.ndarray) -> tuple[Any, Any]:
    """Mean and variance (ddof=1) of the first k values of x for each k in counts."""
    shift = x.mean()
    c = x - shift
    s1 = np.concatenate([[0.0], np.cumsum(c)])[counts]
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])[counts]
    mean = s1 / counts
    var = (s2 - s1 * s1 / counts) / (counts - 1)
    return mean + shift, np.maximum(var, 0.0)


def msprt(treatment: ArrayLike, control: ArrayLike, *, looks: Iterable[tuple[int, int]], tau: float, alpha: float = 0.05,
          theta0: float = 0.0, min_per_arm: int = MSPRT_MIN_PER_ARM) -> SequentialResult:
    """Always-valid mSPRT for mean(treatment) − mean(control), evaluated at each look.

    ``treatment`` and ``control`` hold outcomes in arrival order; ``looks`` gives the cumulative
    (n_treatment, n_control) seen at each look (e.g. the end of each day), non-decreasing, each
    with at least ``min_per_arm`` outcomes per arm (the burn-in that keeps plug-in variances
    honest; see MSPRT_MIN_PER_ARM). ``tau`` is the mixing standard deviation in outcome units:
    set it to the effect size you hope to detect (e.g. the experiment's raw MDE).
    """
    alpha = _check_alpha(alpha)
    if not tau > 0:
        raise ValueError("tau (the mixing standard deviation) must be positive")
    x = _sample(treatment, "treatment arm", min_n=2)
    y = _sample(control, "control arm", min_n=2)
    lk = np.asarray(list(looks), dtype=np.int64)
    if lk.ndim != 2 or lk.shape[0] == 0 or lk.shape[1] != 2:
        raise ValueError("looks must be a non-empty sequence of (n_treatment, n_control) pairs")
    n1, n2 = lk[:, 0], lk[:, 1]
    if min_per_arm < 2:
        raise ValueError("min_per_arm must be at least 2 (a variance needs two outcomes)")
    if np.any(n1 < min_per_arm) or np.any(n2 < min_per_arm):
        raise InsufficientDataError(f"every look needs at least {min_per_arm} outcomes in each arm "
                                    "(drop earlier looks, e.g. with looks_from_times)")
    if np.any(n1 > x.size) or np.any(n2 > y.size):
        raise ValueError("a look counts more outcomes than were passed")
    if np.any(np.diff(n1) < 0) or np.any(np.diff(n2) < 0):
        raise ValueError("looks must be in time order (cumulative counts never decrease)")
    m1, v1 = _cumulative_moments(x, n1)
    m2, v2 = _cumulative_moments(y, n2)
    var = v1 / n1 + v2 / n2
    if np.any(var <= 0):
        bad = int(np.argmax(var <= 0))
        raise InsufficientDataError(f"look {bad}: both arms have zero variance so far; no test is possible yet")
    est = m1 - m2
    log_lam = msprt_log_lambda(est, var, tau=tau, theta0=theta0)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lam)))
    r = msprt_radius(var, tau=tau, alpha=alpha)
    lo = np.maximum.accumulate(est - r)
    hi = np.minimum.accumulate(est + r)
    rejected = p <= alpha
    first = int(np.argmax(rejected)) if rejected.any() else None
    out = tuple(SequentialLook(index=i, n_treatment=int(n1[i]), n_control=int(n2[i]), estimate=float(est[i]),
                               se=float(math.sqrt(var[i])), log_lambda=float(log_lam[i]), p_value=float(p[i]),
                               ci_low=float(lo[i]), ci_high=float(hi[i]), boundary=float(r[i]),
                               rejected=bool(rejected[i]))
                for i in range(lk.shape[0]))
    return SequentialResult(method="mSPRT (normal mixture, always valid)", alpha=alpha, tau=float(tau),
                            theta0=float(theta0), looks=out, first_rejection=first)


def looks_from_times(treatment_times: ArrayLike, control_times: ArrayLike, look_times: ArrayLike, *,
                     min_per_arm: int = MSPRT_MIN_PER_ARM) -> list[tuple[int, int]]:
    """Cumulative (n_treatment, n_control) at each look time, for outcomes sorted by time.

    Times may be any comparable numbers (e.g. POSIX seconds). An outcome at exactly a look time
    counts at that look. Looks before both arms reach ``min_per_arm`` outcomes are dropped.
    """
    t1 = np.asarray(treatment_times, dtype=np.float64)
    t2 = np.asarray(control_times, dtype=np.float64)
    if np.any(np.diff(t1) < 0) or np.any(np.diff(t2) < 0):
        raise ValueError("outcome times must be sorted (the outcome arrays are in arrival order)")
    lt = np.sort(np.asarray(look_times, dtype=np.float64))
    c1 = np.searchsorted(t1, lt, side="right")
    c2 = np.searchsorted(t2, lt, side="right")
    return [(int(a), int(b)) for a, b in zip(c1, c2, strict=True) if a >= min_per_arm and b >= min_per_arm]




def _sequential_from_estimates(
    est: Any, var: Any, *, tau: float, alpha: float, theta0: float
) -> tuple[Any, Any, Any]:
    log_lam = msprt_log_lambda(est, var, tau=tau, theta0=theta0)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lam)), axis=-1)
    r = msprt_radius(var, tau=tau, alpha=alpha)
    return log_lam, p, r


def msprt_clustered(values: ArrayLike, participants: ArrayLike, treatment: ArrayLike, times: ArrayLike,
                    look_times: ArrayLike, *, tau: float, alpha: float = 0.05,
                    theta0: float = 0.0,
                    min_participants_per_arm: int = MSPRT_MIN_PARTICIPANTS_PER_ARM) -> SequentialResult:
    """Always-valid mSPRT with the participant as the unit.

    At each look (a time; sessions at or before it count) the difference in means and its
    participant-clustered CR2 variance (:func:`studies.stats.cluster.clustered_difference_arrays`)
    are plugged into the normal-mixture likelihood ratio of Johari et al. (2022). Looks before each
    arm has ``min_participants_per_arm`` participants are dropped (the burn-in is counted in
    participants: a session-count burn-in could be met by two people). ``n_treatment`` and
    ``n_control`` of each look count participants; ``sessions_*`` count sessions.
    """
    alpha = _check_alpha(alpha)
    if not tau > 0:
        raise ValueError("tau (the mixing standard deviation) must be positive")
    if min_participants_per_arm < 2:
        raise ValueError("min_participants_per_arm must be at least 2")
    y = _sample(values, "outcomes", min_n=2)
    t = np.asarray(times, dtype=np.float64)
    arm = np.asarray(treatment, dtype=bool)
    ids = np.asarray(participants)
    if t.shape != y.shape or arm.shape != y.shape or ids.shape != y.shape:
        raise ValueError("need one participant, arm flag and time per outcome")
    _, codes = np.unique(ids, return_inverse=True)
    G = int(codes.max()) + 1
    tr = np.zeros(G, dtype=bool)
    tr[codes[arm]] = True
    if np.unique(codes[arm]).size + np.unique(codes[~arm]).size > G:
        raise ValueError("a participant appears in both arms; use the within-subject analysis")
    lt = np.sort(np.asarray(look_times, dtype=np.float64).ravel())
    if lt.size == 0:
        raise ValueError("no looks given")
    seen = t[None, :] <= lt[:, None]  # (looks, sessions)
    sums = np.zeros((lt.size, G))
    counts = np.zeros((lt.size, G))
    for i in range(lt.size):
        sums[i] = np.bincount(codes, weights=np.where(seen[i], y, 0.0), minlength=G)
        counts[i] = np.bincount(codes, weights=seen[i].astype(np.float64), minlength=G)
    pt = ((counts > 0) & tr).sum(axis=1)
    pc = ((counts > 0) & ~tr).sum(axis=1)
    keep = (pt >= min_participants_per_arm) & (pc >= min_participants_per_arm)
    if not keep.any():
        raise InsufficientDataError(f"no look has {min_participants_per_arm} participants in each arm yet")
    sums, counts, pt, pc = sums[keep], counts[keep], pt[keep], pc[keep]
    est, var, _ = clustered_difference_arrays(sums, counts, np.broadcast_to(tr, sums.shape))
    if np.any(~np.isfinite(var)) or np.any(var <= 0):
        raise InsufficientDataError("a look has zero or undefined clustered variance; no test is possible yet")
    log_lam, p, r = _sequential_from_estimates(est, var, tau=tau, alpha=alpha, theta0=theta0)
    lo = np.maximum.accumulate(est - r)
    hi = np.minimum.accumulate(est + r)
    rejected = p <= alpha
    first = int(np.argmax(rejected)) if rejected.any() else None
    st = (counts * tr).sum(axis=1)
    sc = (counts * ~tr).sum(axis=1)
    out = tuple(SequentialLook(index=i, n_treatment=int(pt[i]), n_control=int(pc[i]), estimate=float(est[i]),
                               se=float(math.sqrt(var[i])), log_lambda=float(log_lam[i]), p_value=float(p[i]),
                               ci_low=float(lo[i]), ci_high=float(hi[i]), boundary=float(r[i]),
                               rejected=bool(rejected[i]), sessions_treatment=int(st[i]), sessions_control=int(sc[i]))
                for i in range(est.size))
    return SequentialResult(method="mSPRT (normal mixture, always valid; participant-clustered CR2 variance)",
                            alpha=alpha, tau=float(tau), theta0=float(theta0), looks=out, first_rejection=first)
