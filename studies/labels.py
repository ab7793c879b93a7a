"""Soft GEMS labels from crowd ratings, rater reliability and agreement. Pure: numpy only
(plus the `krippendorff` package for alpha). Arrays in, dataclasses out.

Two response formats (issue 4):
- ``"pick"``: pick one to three of the nine GEMS emotions (the Emotify game, Aljanaki et al.
  2016). An answer is a 0/1 row of nine; it counts as a distribution spread evenly over the picks.
- ``"intensity"``: rate each GEMS emotion 0-4. An answer counts as its intensities normalised
  to sum to one. An all-zero row ("felt none of these") is valid but carries no information
  about *which* emotion, so it is kept out of the label and the reliability estimate.

Reliability: a one-coin Dawid-Skene model adapted to soft answers (Dawid & Skene 1979,
"Maximum likelihood estimation of observer error-rates using the EM algorithm", JRSS C 28(1);
the one-coin simplification as in Raykar et al. 2010, JMLR 11). Each rating is either
*informative* (drawn from the track's true soft label T_t) with the rater's probability q_r,
or *uninformative* (drawn from the rater's own habitual answer B_r: a spammer's favourite
buttons, a random clicker's uniform spread, an adversary's inverted choices all look like
this). With an answer a (a distribution) the likelihood of a draw from p is exp(sum_k a_k log p_k).
EM alternates:

  E-step  gamma_i = P(rating i informative) = sigmoid(logit q_r + log L(a_i|T_t^-i) - log L(a_i|B_r))
          where T_t^-i is the track's current label *without* rating i (leave-one-out, so a
          rater is never judged against a consensus that contains their own answer);
  M-step  T_t = (sum_i w_r gamma_i a_i + kappa * prior) / (sum_i w_r gamma_i + kappa)
          (Dirichlet smoothing with `kappa` pseudo-ratings toward the population prior),
          q_r = (sum_i gamma_i + a0) / (n_r + a0 + b0) (a Beta(a0, b0) prior: raters are assumed
          mostly honest until their answers say otherwise).

Why one coin and not full 9x9 confusion matrices: each rater answers a few dozen tracks at most,
far too few to estimate 72 free parameters, and a soft label is meant to *keep* the spread of
honest opinion, which per-class confusion modelling would explain away.

Attention checks (a repeated track answered inconsistently, or a gold track answered far from
its known label) multiply a rater's weight w_r by ``attention_penalty`` per failure: failing
raters are down-weighted, never silently dropped, and every rater's weight comes with the
reasons, so the admin can show who (by participant code) and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from emotion.vocab import GEMS, N_GEMS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

PICK = "pick"
INTENSITY = "intensity"
FORMATS = (PICK, INTENSITY)
MAX_PICKS = 3
MAX_INTENSITY = 4

_LN2 = np.log(2.0)


# ---------------------------------------------------------------------------- validation


def validate_answers(answers: ArrayLike, fmt: str) -> FloatArray:
    """Check an (n, 9) answer matrix (or one row of 9) for `fmt`; return it as float64.

    Raises ValueError with a message fit for a participant-facing 400."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown response format {fmt!r}; expected one of {', '.join(FORMATS)}")
    arr = np.asarray(answers, dtype=np.float64)
    one = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[1] != N_GEMS:
        raise ValueError(f"An answer has one value per GEMS emotion ({N_GEMS}), got shape {np.shape(answers)}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError("Answers must be whole numbers")
    if fmt == PICK:
        if np.any((arr != 0) & (arr != 1)):
            raise ValueError("In the pick format each emotion is either picked (1) or not (0)")
        picks = arr.sum(axis=1)
        if np.any(picks < 1):
            raise ValueError("Pick at least one emotion")
        if np.any(picks > MAX_PICKS):
            raise ValueError(f"Pick at most {MAX_PICKS} emotions")
    else:
        if np.any((arr < 0) | (arr > MAX_INTENSITY)):
            raise ValueError(f"Intensities run from 0 to {MAX_INTENSITY}")
    return arr[0] if one else arr


def answer_distributions(answers: ArrayLike, fmt: str) -> tuple[FloatArray, BoolArray]:
    """Each answer as a distribution over the nine emotions, and a mask of informative rows
    (False only for all-zero intensity answers, whose row is left at zero)."""
    arr = validate_answers(np.atleast_2d(answers), fmt)
    total = arr.sum(axis=1)
    informative = total > 0
    dist = np.zeros_like(arr)
    dist[informative] = arr[informative] / total[informative, None]
    return dist, informative


def entropy_bits(p: ArrayLike) -> FloatArray:
    """Shannon entropy in bits of distributions along the last axis (0 .. log2 9 = 3.17)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.asarray(-terms.sum(axis=-1), dtype=np.float64)


def js_divergence(p: ArrayLike, q: ArrayLike) -> FloatArray:
    """Jensen-Shannon divergence in bits (0 .. 1) between distributions along the last axis."""
    pa = np.asarray(p, dtype=np.float64)
    qa = np.asarray(q, dtype=np.float64)
    pa = pa / pa.sum(axis=-1, keepdims=True)
    qa = qa / qa.sum(axis=-1, keepdims=True)
    m = 0.5 * (pa + qa)
    return np.asarray(np.clip(entropy_bits(m) - 0.5 * (entropy_bits(pa) + entropy_bits(qa)), 0.0, 1.0), dtype=np.float64)


# ---------------------------------------------------------------------------- attention checks


def repeat_check_passed(first: ArrayLike, second: ArrayLike, fmt: str, *, max_jsd: float = 0.5) -> bool:
    """A repeated track: the two answers must share a top emotion or be close (JSD bits)."""
    (a, b), informative = answer_distributions(np.vstack([first, second]), fmt)
    if not informative.all():
        return bool(not informative.any())  # two "none of these" answers are consistent
    top_a = set(np.flatnonzero(a == a.max()))
    top_b = set(np.flatnonzero(b == b.max()))
    return bool(top_a & top_b) or float(js_divergence(a, b)) <= max_jsd


def gold_check_passed(answer: ArrayLike, gold_label: ArrayLike, fmt: str, *, top: int = 3) -> bool:
    """A gold track: at least one of the rater's strongest emotions must be among the `top`
    emotions of the known label."""
    (a,), informative = answer_distributions(np.atleast_2d(answer), fmt)
    if not informative[0]:
        return False
    gold = np.asarray(gold_label, dtype=np.float64)
    allowed = set(np.argsort(-gold, kind="stable")[:top])
    return bool(set(np.flatnonzero(a == a.max())) & allowed)


@dataclass(frozen=True)
class AttentionCheck:
    """One attention-check outcome for a rater, e.g. AttentionCheck(3, False, "repeat of track 12 inconsistent")."""

    rater: int
    passed: bool
    reason: str = ""


# ---------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class RaterReport:
    rater: int
    code: str
    n_ratings: int
    reliability: float  # q_r: estimated probability that an answer is informative
    weight: float  # reliability x attention multiplier: what the rater's answers count for
    attention_checks: int
    attention_failures: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TrackLabel:
    track: int
    soft_label: np.ndarray
    n_raters: int
    entropy_bits: float
    effective_raters: float

    @property
    def dominant(self) -> str:
        return GEMS[int(np.argmax(self.soft_label))]


@dataclass(frozen=True)
class Aggregation:
    soft_labels: np.ndarray  # (n_tracks, 9), rows sum to 1; unrated tracks get the prior
    n_raters: np.ndarray  # (n_tracks,) distinct raters with an informative answer
    entropy_bits: np.ndarray  # (n_tracks,)
    effective_raters: np.ndarray  # (n_tracks,) sum of the weights behind each label
    prior: np.ndarray  # (9,) population prior
    raters: tuple[RaterReport, ...]
    rating_weights: np.ndarray  # (n_ratings,) final weight of each rating (0 for uninformative)
    iterations: int
    converged: bool

    def track(self, t: int) -> TrackLabel:
        return TrackLabel(
            track=t,
            soft_label=self.soft_labels[t],
            n_raters=int(self.n_raters[t]),
            entropy_bits=float(self.entropy_bits[t]),
            effective_raters=float(self.effective_raters[t]),
        )

    @property
    def rated(self) -> np.ndarray:
        return self.n_raters > 0


def _group_sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sums of the rows of `values` grouped by `index`, as (n, columns); one bincount per column."""
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(index, weights=values[:, j], minlength=n)
    return out


def _check_indices(
    rater: ArrayLike, track: ArrayLike, n_answers: int, n_raters: int | None, n_tracks: int | None
) -> tuple[IntArray, IntArray, int, int]:
    rater = np.asarray(rater)
    track = np.asarray(track)
    if rater.shape != (n_answers,) or track.shape != (n_answers,):
        raise ValueError("rater, track and answers must have the same length")
    if n_answers and (not np.issubdtype(rater.dtype, np.integer) or not np.issubdtype(track.dtype, np.integer)):
        raise ValueError("rater and track are integer indices")
    rater = rater.astype(np.int64)
    track = track.astype(np.int64)
    if n_answers and (rater.min() < 0 or track.min() < 0):
        raise ValueError("Indices must be non-negative")
    nr = int(rater.max()) + 1 if n_answers else 0
    nt = int(track.max()) + 1 if n_answers else 0
    if n_raters is not None:
        if n_raters < nr:
            raise ValueError("A rater index is out of range")
        nr = n_raters
    if n_tracks is not None:
        if n_tracks < nt:
            raise ValueError("A track index is out of range")
        nt = n_tracks
    return rater, track, nr, nt


def plain_soft_labels(
    rater: ArrayLike, track: ArrayLike, answers: ArrayLike, fmt: str, *, n_tracks: int | None = None, kappa: float = 0.0,
    prior: ArrayLike | None = None,
) -> FloatArray:
    """The baseline: every answer counts the same (vote counting). With kappa > 0, the same
    Dirichlet smoothing as `aggregate` (toward `prior`, by default the mean answer), so the two
    can be compared with and without smoothing. Unrated tracks get the prior (uniform if none)."""
    dist, informative = answer_distributions(answers, fmt)
    _, track, _, nt = _check_indices(rater, track, len(dist), None, n_tracks)
    if prior is None:
        prior = dist[informative].mean(axis=0) if informative.any() else np.full(N_GEMS, 1.0 / N_GEMS)
    base = np.asarray(prior, dtype=np.float64)
    base = base / base.sum()
    sums = _group_sum(track[informative], dist[informative], nt)
    totals = sums.sum(axis=1, keepdims=True)
    smoothed = sums + kappa * base
    denom = totals + kappa
    return np.asarray(np.where(denom > 0, smoothed / np.where(denom > 0, denom, 1.0), base), dtype=np.float64)


def aggregate(
    rater: ArrayLike,
    track: ArrayLike,
    answers: ArrayLike,
    fmt: str,
    *,
    n_raters: int | None = None,
    n_tracks: int | None = None,
    rater_codes: Sequence[str] | None = None,
    attention: Sequence[AttentionCheck] = (),
    prior: ArrayLike | None = None,
    kappa: float = 0.5,
    attention_penalty: float = 0.5,
    reliability_prior: tuple[float, float] = (2.0, 1.0),
    max_iter: int = 50,
    tol: float = 1e-4,
) -> Aggregation:
    """Reliability-weighted, Dirichlet-smoothed soft GEMS labels (see the module docstring).

    rater, track: (n,) integer indices; answers: (n, 9) in `fmt`; one answer per (rater, track)
    is expected (the caller keeps repeat-check answers out and reports them via `attention`).
    prior: the population prior (9,); by default the plain mean of all informative answers.
    kappa: pseudo-ratings of the prior added to each track (0 = no smoothing). 0.5 is a
    compromise measured on the simulated crowd (studies/crowd.py): spiky pick answers gain
    from ~0.3-1, already-spread intensity answers from less.
    """
    if kappa < 0:
        raise ValueError("kappa must be non-negative")
    if not 0 < attention_penalty <= 1:
        raise ValueError("attention_penalty must be in (0, 1]")
    answers_arr = np.asarray(answers, dtype=np.float64)
    dist, informative = answer_distributions(
        np.atleast_2d(answers_arr) if answers_arr.size else np.zeros((0, N_GEMS)), fmt
    )
    rater, track, nr, nt = _check_indices(rater, track, len(dist), n_raters, n_tracks)
    if rater_codes is not None and len(rater_codes) < nr:
        raise ValueError("rater_codes needs one code per rater")
    codes = [str(rater_codes[r]) if rater_codes is not None else f"rater {r}" for r in range(nr)]

    if prior is None:
        prior = dist[informative].mean(axis=0) if informative.any() else np.full(N_GEMS, 1.0 / N_GEMS)
    pri = np.asarray(prior, dtype=np.float64)
    if pri.shape != (N_GEMS,) or np.any(pri < 0) or pri.sum() <= 0:
        raise ValueError("prior must be nine non-negative numbers")
    pri = 0.98 * pri / pri.sum() + 0.02 / N_GEMS  # never exactly zero: log-likelihoods stay finite

    # Attention multipliers, with reasons, per rater.
    checks = np.zeros(nr, dtype=np.int64)
    failures = np.zeros(nr, dtype=np.int64)
    reasons: list[list[str]] = [[] for _ in range(nr)]
    for chk in attention:
        if not 0 <= chk.rater < nr:
            raise ValueError(f"Attention check for unknown rater {chk.rater}")
        checks[chk.rater] += 1
        if not chk.passed:
            failures[chk.rater] += 1
            reasons[chk.rater].append(chk.reason or "failed an attention check")
    attention_mult = attention_penalty**failures

    r_i, t_i, a_i = rater[informative], track[informative], dist[informative]
    n_per_rater = np.bincount(r_i, minlength=nr).astype(np.float64)
    # Each rater's habitual answer B_r, smoothed toward the prior with 2 pseudo-answers.
    habit = _group_sum(r_i, a_i, nr)
    habit = (habit + 2.0 * pri) / (n_per_rater[:, None] + 2.0)
    ll_bad = np.einsum("ik,ik->i", a_i, np.log(habit[r_i]))

    a0, b0 = reliability_prior
    q = np.full(nr, a0 / (a0 + b0))
    gamma = np.ones(len(a_i))
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        w = gamma * attention_mult[r_i]
        sums = _group_sum(t_i, w[:, None] * a_i, nt)
        totals = np.bincount(t_i, weights=w, minlength=nt)
        loo = (sums[t_i] - w[:, None] * a_i + kappa * pri) / (totals[t_i] - w + kappa)[:, None]
        loo = np.clip(loo, 1e-12, None)
        ll_good = np.einsum("ik,ik->i", a_i, np.log(loo))
        qi = np.clip(q[r_i], 1e-6, 1 - 1e-6)
        logit = np.log(qi) - np.log1p(-qi) + ll_good - ll_bad
        gamma = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
        q_new = (np.bincount(r_i, weights=gamma, minlength=nr) + a0) / (n_per_rater + a0 + b0)
        delta = float(np.max(np.abs(q_new - q))) if nr else 0.0
        q = q_new
        if delta < tol:
            converged = True
            break

    w = gamma * attention_mult[r_i]
    sums = _group_sum(t_i, w[:, None] * a_i, nt)
    totals = np.bincount(t_i, weights=w, minlength=nt)
    labels = (sums + kappa * pri) / (totals + kappa)[:, None]
    unrated = totals <= 0
    labels[unrated] = pri
    # distinct raters per track
    pairs = np.unique(np.stack([t_i, r_i], axis=1), axis=0) if len(t_i) else np.zeros((0, 2), dtype=np.int64)
    counts = np.bincount(pairs[:, 0], minlength=nt) if len(pairs) else np.zeros(nt, dtype=np.int64)

    rating_weights = np.zeros(len(dist))
    rating_weights[informative] = w
    # Answers that looked more like the rater's habit than like the other raters' consensus.
    off_consensus = np.bincount(r_i, weights=(gamma < 0.5).astype(np.float64), minlength=nr).astype(np.int64)
    all_per_rater = np.bincount(rater, minlength=nr)
    reports = tuple(
        RaterReport(
            rater=r,
            code=codes[r],
            n_ratings=int(all_per_rater[r]),
            reliability=float(q[r]),
            weight=float(q[r] * attention_mult[r]),
            attention_checks=int(checks[r]),
            attention_failures=int(failures[r]),
            reasons=tuple(reasons[r])
            + ((f"low estimated reliability ({q[r]:.2f})",) if n_per_rater[r] >= 3 and q[r] < 0.4 else ())
            + (
                (f"disagrees with the other raters' consensus on {off_consensus[r]} of {int(n_per_rater[r])} tracks",)
                if off_consensus[r] > 0 and q[r] < 0.5
                else ()
            ),
        )
        for r in range(nr)
    )
    return Aggregation(
        soft_labels=labels,
        n_raters=counts,
        entropy_bits=entropy_bits(labels),
        effective_raters=totals,
        prior=pri,
        raters=reports,
        rating_weights=rating_weights,
        iterations=iterations,
        converged=converged,
    )


# ---------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Agreement:
    overall: float  # nan when undefined (e.g. fewer than two raters on any track)
    per_category: dict[str, float]
    level: str
    n_units: int


def _alpha(value_counts: np.ndarray, domain: np.ndarray, level: Literal["nominal", "ordinal"]) -> float:
    """Alpha from a (units, values) count matrix; nan where undefined."""
    import krippendorff

    counts = value_counts[value_counts.sum(axis=1) >= 2]  # only units with a pair of answers count
    if len(counts) == 0 or np.count_nonzero(counts.sum(axis=0)) < 2:
        return float("nan")  # no pairs, or every answer identical: undefined, not perfect
    try:
        return float(krippendorff.alpha(value_counts=counts, value_domain=domain, level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def agreement(
    rater: ArrayLike, track: ArrayLike, answers: ArrayLike, fmt: str, *, n_raters: int | None = None, n_tracks: int | None = None
) -> Agreement:
    """Krippendorff's alpha (Krippendorff 2004, "Content Analysis", ch. 11) per GEMS category
    (units = tracks, values = picked 0/1 as nominal, or intensity 0-4 as ordinal) and overall
    (units = track x category pairs). Undefined alphas come back as nan. Built from value counts
    per unit, so memory grows with the number of ratings, not raters x tracks."""
    arr = validate_answers(np.atleast_2d(answers), fmt)
    rater, track, nr, nt = _check_indices(rater, track, len(arr), n_raters, n_tracks)
    level: Literal["nominal", "ordinal"] = "nominal" if fmt == PICK else "ordinal"
    domain = np.arange(2 if fmt == PICK else MAX_INTENSITY + 1)
    values = arr.astype(np.int64)
    # counts[t, k, v] = how many answers gave category k the value v on track t
    flat = (track[:, None] * N_GEMS + np.arange(N_GEMS)[None, :]) * len(domain) + values
    counts = np.bincount(flat.ravel(), minlength=nt * N_GEMS * len(domain)).reshape(nt, N_GEMS, len(domain))
    per_category = {name: _alpha(counts[:, k, :], domain, level) for k, name in enumerate(GEMS)}
    overall = _alpha(counts.reshape(nt * N_GEMS, len(domain)), domain, level)
    n_units = int(np.sum(counts[:, 0, :].sum(axis=1) >= 2))
    return Agreement(overall=overall, per_category=per_category, level=level, n_units=n_units)
