"""Inference when the participant, not the session, is the unit of analysis. Pure: numpy and scipy.

Assignment in Attune is sticky per participant and a participant takes several sessions, so the
sessions of one participant are correlated (intra-class correlation, ICC). Tests that treat
sessions as independent understate the variance by the design effect ``1 + (m̄ − 1)·ICC``
(Kish 1965; with unequal cluster sizes ``m̄`` is ``Σn²/Σn``). Everything here clusters on the
participant:

- :func:`cluster_robust_ols`: OLS with cluster-robust covariance. Corrections:

  * ``CR0``: the plain sandwich ``B (Σ_g X_gᵀ e_g e_gᵀ X_g) B``, ``B = (XᵀX)⁻¹`` (Liang & Zeger 1986).
  * ``CR1``: CR0 × ``G/(G−1) · (N−1)/(N−k)``; exactly what statsmodels
    ``OLS(...).fit(cov_type="cluster", cov_kwds={"groups": g, "use_correction": True})`` computes
    (and Stata's ``vce(cluster)``); the agreement test checks it.
  * ``CR2`` (default): Bell & McCaffrey (2002) bias-reduced linearisation: each cluster's residuals
    are multiplied by ``(I − H_gg)^{-1/2}``, ``H_gg = X_g B X_gᵀ``. It is unbiased when the errors
    are independent and homoscedastic and is the small-sample correction recommended by Imbens &
    Kolesár (2016) and Pustejovsky & Tipton (2018). CR1's degrees-of-freedom factor does not fix
    the downward bias of the sandwich with few or unequal clusters; CR2 does, which is why the
    results page uses it. statsmodels has no CR2, so CR2 differs from statsmodels' numbers (by
    more when clusters are few or of very unequal size); the agreement test compares CR1 with CR1
    and checks CR2 against the closed form below.

  Inference uses Student's t with ``G − 1`` degrees of freedom (G = number of participants), the
  same reference distribution statsmodels uses for clustered fits. (Bell & McCaffrey also propose
  a Satterthwaite df for CR2; with the tens to hundreds of participants of an Attune study the
  two agree closely, and the A/A simulations in tests/studies/test_stats_cluster_validation.py
  show G − 1 keeps the false-positive rate within [4 %, 6 %] at ICC 0, 0.3 and 0.6.)

- :func:`clustered_difference`: difference in means (``outcome ~ arm``) with CR2. For a
  between-subject design the hat matrix of a participant in arm a is ``J/N_a`` (N_a sessions in
  the arm), so CR2 has the closed form ``Var = Σ_a Σ_{g∈a} R_g² / (1 − n_g/N_a) / N_a²`` with
  ``R_g`` the sum of participant g's residuals; :func:`clustered_difference_arrays` evaluates it
  for many simulated experiments at once. The point estimate is the session-weighted difference
  in means. The same test on a 0/1 outcome is the clustered comparison of proportions
  (:func:`clustered_proportions`), e.g. completion per session.
- :func:`clustered_cuped`: CUPED (Deng et al. 2013) as ANCOVA ``outcome ~ arm + (x − x̄)`` with
  CR2; when the arms have different numbers of sessions, Lin's (2013) interacted adjustment
  ``outcome ~ arm + (x − x̄) + arm·(x − x̄)`` with robust (CR2) errors, which cannot hurt precision
  asymptotically and stays consistent under unequal allocation. The reported variance reduction
  is the realised ``1 − SE²(adjusted)/SE²(unadjusted)``.
- :func:`cluster_bootstrap`: percentile interval from resampling participants within each arm.
- :func:`participant_rank_test`: Mann–Whitney U on per-participant means (one value per unit).
- :func:`observed_icc`: the one-way ANOVA estimator of the ICC with unequal cluster sizes
  (Donner 1986; ``n₀ = (N − Σn_g²/N)/(G − 1)``) on residuals from the arm means, truncated at 0,
  and the effective sample size ``N / (1 + (Σn²/N − 1)·ICC)``.
- :func:`paired_crossover`: the paired analysis of a within-subject (crossover) design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

from studies.stats._common import InsufficientDataError, _check_confidence, _sample
from studies.stats.hypothesis import MannWhitneyResult, mann_whitney_u

CORRECTIONS = ("CR0", "CR1", "CR2")
_LEVERAGE_TOL = 1e-10


def _groups(participants: ArrayLike, n: int, what: str = "participants") -> tuple[np.ndarray, int]:
    g = np.asarray(participants)
    if g.ndim != 1 or g.size != n:
        raise ValueError(f"{what}: need one participant id per outcome ({n}), got shape {g.shape}")
    _, codes = np.unique(g, return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1 if codes.size else 0


# ---------------------------------------------------------------------------------------------
# general OLS with cluster-robust covariance


@dataclass(frozen=True, eq=False)
class ClusterOLS:
    coef: np.ndarray
    vcov: np.ndarray
    correction: str
    n_obs: int
    n_clusters: int

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def df(self) -> int:
        return self.n_clusters - 1


def cluster_robust_ols(y: ArrayLike, X: ArrayLike, participants: ArrayLike, *, correction: str = "CR2") -> ClusterOLS:
    """OLS of y on X (X includes the intercept column) with the participant-clustered covariance.

    See the module docstring for CR0, CR1 (= statsmodels ``use_correction=True``) and CR2
    (Bell–McCaffrey, the default). Raises :class:`InsufficientDataError` with fewer than two
    participants, a rank-deficient design, or (CR2) a participant who alone determines a
    coefficient (leverage 1, e.g. the only participant of an arm).
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    yv = _sample(y, "outcome", min_n=2)
    Xm = np.asarray(X, dtype=np.float64)
    if Xm.ndim == 1:
        Xm = Xm[:, None]
    n, k = Xm.shape
    if n != yv.size or not np.all(np.isfinite(Xm)):
        raise ValueError("X needs one finite row per outcome")
    codes, G = _groups(participants, n)
    if G < 2:
        raise InsufficientDataError(f"only {G} participant(s): a participant-level analysis needs at least two")
    if np.linalg.matrix_rank(Xm) < k:
        raise InsufficientDataError("the design is rank-deficient (e.g. every participant in one arm, "
                                    "or a covariate that does not vary)")
    bread = np.linalg.inv(Xm.T @ Xm)
    coef = bread @ (Xm.T @ yv)
    e = yv - Xm @ coef
    if correction in ("CR0", "CR1"):
        scores = np.zeros((G, k))
        np.add.at(scores, codes, Xm * e[:, None])
    else:
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=G)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        scores = np.empty((G, k))
        for s in np.unique(sizes):
            which = np.flatnonzero(sizes == s)
            rows = order[starts[which][:, None] + np.arange(s)]  # (c, s)
            Xg = Xm[rows]  # (c, s, k)
            eg = e[rows]  # (c, s)
            M = np.eye(s) - Xg @ bread @ np.swapaxes(Xg, 1, 2)
            w, Q = np.linalg.eigh(M)
            if np.any(w < _LEVERAGE_TOL):
                raise InsufficientDataError("a participant alone determines a coefficient (e.g. the only "
                                            "participant in an arm); CR2 is undefined")
            A = (Q * w[:, None, :] ** -0.5) @ np.swapaxes(Q, 1, 2)
            scores[which] = np.einsum("csk,cs->ck", Xg, np.einsum("cst,ct->cs", A, eg))
    meat = scores.T @ scores
    vcov = bread @ meat @ bread
    if correction == "CR1":
        vcov = vcov * (G / (G - 1.0)) * ((n - 1.0) / (n - k))
    return ClusterOLS(coef=coef, vcov=vcov, correction=correction, n_obs=n, n_clusters=G)


# ---------------------------------------------------------------------------------------------
# difference in means clustered on the participant


@dataclass(frozen=True)
class ClusteredEffect:
    method: str
    effect: float  # treatment − control
    se: float
    statistic: float  # t
    df: int  # participants − 1
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    participants_treatment: int
    participants_control: int
    sessions_treatment: int
    sessions_control: int
    correction: str = "CR2"


def _t_inference(effect: float, se: float, df: int, confidence: float, *,
                 why: str = "the cluster-robust standard error is zero: every outcome is identical within each arm",
                 ) -> tuple[float, float, float, float]:
    if not se > 0 or not math.isfinite(se):
        raise InsufficientDataError(why)
    t = effect / se
    p = 2.0 * float(sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    return t, min(1.0, p), effect - half, effect + half


def _arm_checks(values: ArrayLike, participants: ArrayLike, treatment: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = _sample(values, "outcomes", min_n=2)
    codes, G = _groups(participants, y.size)
    arm = np.asarray(treatment, dtype=bool)
    if arm.shape != y.shape:
        raise ValueError("need one arm flag per outcome")
    pt = np.unique(codes[arm]).size
    pc = np.unique(codes[~arm]).size
    if pt == 0 or pc == 0:
        raise InsufficientDataError("every participant is in one arm; there is nothing to compare")
    if pt + pc > G:
        raise ValueError("a participant appears in both arms; use the within-subject (paired) analysis")
    if pt < 2 or pc < 2:
        raise InsufficientDataError(f"{pt} participant(s) in the treatment arm and {pc} in the control arm; "
                                    "each arm needs at least two participants")
    return y, codes, arm


def clustered_difference_arrays(
    sums: np.ndarray, counts: np.ndarray, treatment: np.ndarray
) -> tuple[Any, Any, Any]:
    """Vectorised CR2 difference in means from per-participant sums and session counts.

    ``sums``, ``counts`` and ``treatment`` (bool) have shape (..., G): per experiment, one entry
    per participant slot (count 0 = absent). Returns ``(effect, variance, n_participants)`` with
    shapes (...). Used by simulations and by the sequential test at each look.
    """
    s = np.asarray(sums, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    tr = np.asarray(treatment, dtype=bool)
    out_mean = []
    var = 0.0
    for mask in (tr, ~tr):
        N = np.where(mask, n, 0.0).sum(axis=-1)
        S = np.where(mask, s, 0.0).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = S / N
            R = np.where(mask, s - n * mean[..., None], 0.0)
            lev = np.where(mask, 1.0 - n / N[..., None], 1.0)
            var = var + (R * R / lev).sum(axis=-1) / (N * N)
        out_mean.append(mean)
    present = (n > 0).sum(axis=-1)
    return out_mean[0] - out_mean[1], var, present


def clustered_difference(values: ArrayLike, participants: ArrayLike, treatment: ArrayLike, *, confidence: float = 0.95,
                         label: str = "difference in means") -> ClusteredEffect:
    """Session-weighted difference in means (treatment − control), CR2 clustered on the participant.

    Equal to the arm coefficient of ``cluster_robust_ols(y, [1, arm], participants, "CR2")``;
    t with G − 1 degrees of freedom.
    """
    confidence = _check_confidence(confidence)
    y, codes, arm = _arm_checks(values, participants, treatment)
    G = int(codes.max()) + 1
    sums = np.bincount(codes, weights=y, minlength=G)
    counts = np.bincount(codes, minlength=G).astype(np.float64)
    tr = np.zeros(G, dtype=bool)
    tr[codes[arm]] = True
    effect, var, present = clustered_difference_arrays(sums, counts, tr)
    if not np.isfinite(var):
        raise InsufficientDataError("a participant holds every session of an arm; CR2 is undefined")
    t, p, lo, hi = _t_inference(float(effect), math.sqrt(float(var)), G - 1, confidence)
    return ClusteredEffect(method=f"{label}, participant-clustered CR2, t({G - 1})", effect=float(effect),
                           se=math.sqrt(float(var)), statistic=t, df=G - 1, p_value=p, ci_low=lo, ci_high=hi,
                           confidence=confidence, participants_treatment=int(tr.sum()),
                           participants_control=int(G - tr.sum()), sessions_treatment=int(arm.sum()),
                           sessions_control=int((~arm).sum()))


def clustered_proportions(successes: ArrayLike, participants: ArrayLike, treatment: ArrayLike, *, confidence: float = 0.95) -> ClusteredEffect:
    """Clustered comparison of proportions (e.g. session completion): the difference in rates with
    a CR2 participant-clustered standard error (linear probability model), t with G − 1 df.

    A pooled two-proportion z-test would count sessions as independent trials; a participant who
    abandons tends to abandon again, so that test is anti-conservative with repeated sessions.
    """
    x = np.asarray(successes, dtype=np.float64)
    if x.size and not np.all((x == 0) | (x == 1)):
        raise ValueError("successes must be 0/1 per session")
    if x.size and (x.min() == x.max()):
        raise InsufficientDataError(f"the rate is {x.mean():.0%} in both arms; there is no variation to test")
    return clustered_difference(x, participants, treatment, confidence=confidence,
                                label="difference in proportions")


# ---------------------------------------------------------------------------------------------
# CUPED as a clustered regression


@dataclass(frozen=True)
class ClusteredCuped:
    method: str
    effect: float
    se: float
    statistic: float
    df: int
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    theta: float  # covariate slope (the control arm's slope under Lin's adjustment)
    interacted: bool  # Lin (2013) adjustment used
    unadjusted_effect: float
    unadjusted_se: float
    variance_reduction: float  # realised: 1 − SE²(adjusted) / SE²(unadjusted); may be negative


def clustered_cuped(values: ArrayLike, covariate: ArrayLike, participants: ArrayLike, treatment: ArrayLike, *, confidence: float = 0.95,
                    interacted: bool | None = None) -> ClusteredCuped:
    """CUPED as ``outcome ~ arm + (x − x̄) [+ arm·(x − x̄)]`` with CR2 participant-clustered errors.

    ``interacted=None`` uses Lin's (2013) interacted adjustment when the arms have different
    numbers of sessions (with unequal arms the common-slope ANCOVA can lose precision and its
    plain standard error is wrong under heterogeneous slopes; Lin's estimator with robust errors
    is never less precise asymptotically). The covariate is centred at the pooled mean, so the
    arm coefficient is the average treatment effect in both forms.
    """
    confidence = _check_confidence(confidence)
    y, codes, arm = _arm_checks(values, participants, treatment)
    x = _sample(covariate, "covariate", min_n=2)
    if x.size != y.size:
        raise ValueError("need one covariate value per outcome")
    if np.ptp(x) == 0.0:
        raise InsufficientDataError("the pre-session covariate is constant; CUPED cannot adjust")
    unadj = clustered_difference(y, codes, arm, confidence=confidence)
    if interacted is None:
        interacted = int(arm.sum()) != int((~arm).sum())
    xc = x - x.mean()
    a = arm.astype(np.float64)
    cols = [np.ones_like(y), a, xc] + ([a * xc] if interacted else [])
    fit = cluster_robust_ols(y, np.column_stack(cols), codes, correction="CR2")
    effect = float(fit.coef[1])
    se = float(fit.se[1])
    t, p, lo, hi = _t_inference(effect, se, fit.df, confidence)
    kind = "Lin-interacted CUPED" if interacted else "CUPED (ANCOVA)"
    return ClusteredCuped(method=f"{kind}, participant-clustered CR2, t({fit.df})", effect=effect, se=se,
                          statistic=t, df=fit.df, p_value=p, ci_low=lo, ci_high=hi, confidence=confidence,
                          theta=float(fit.coef[2]), interacted=bool(interacted), unadjusted_effect=unadj.effect,
                          unadjusted_se=unadj.se, variance_reduction=1.0 - se * se / (unadj.se * unadj.se))


# ---------------------------------------------------------------------------------------------
# cluster bootstrap, rank test on participant means, ICC


@dataclass(frozen=True)
class ClusterBootstrapResult:
    method: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    se: float
    n_resamples: int


def cluster_bootstrap(values: ArrayLike, participants: ArrayLike, treatment: ArrayLike, *, confidence: float = 0.95, n_resamples: int = 4000,
                      seed: int | np.random.Generator = 0) -> ClusterBootstrapResult:
    """Percentile interval for the session-weighted difference in means, resampling participants
    (with all their sessions) with replacement within each arm (Field & Welsh 2007; Cameron,
    Gelbach & Miller 2008). Resampling sessions would ignore the within-participant correlation.
    """
    confidence = _check_confidence(confidence)
    if n_resamples < 100:
        raise ValueError("n_resamples must be at least 100")
    y, codes, arm = _arm_checks(values, participants, treatment)
    G = int(codes.max()) + 1
    sums = np.bincount(codes, weights=y, minlength=G)
    counts = np.bincount(codes, minlength=G).astype(np.float64)
    tr = np.zeros(G, dtype=bool)
    tr[codes[arm]] = True
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    means = []
    for mask in (tr, ~tr):
        s, c = sums[mask], counts[mask]
        idx = rng.integers(0, s.size, size=(n_resamples, s.size))
        means.append(s[idx].sum(axis=1) / c[idx].sum(axis=1))
    boot = means[0] - means[1]
    if np.ptp(boot) == 0.0:
        raise InsufficientDataError("the bootstrap distribution is a point (no variation between participants)")
    effect = float(sums[tr].sum() / counts[tr].sum() - sums[~tr].sum() / counts[~tr].sum())
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(boot, [100 * tail, 100 * (1 - tail)])
    return ClusterBootstrapResult(method=f"participant (cluster) bootstrap, percentile, {n_resamples} resamples",
                                  effect=effect, ci_low=float(lo), ci_high=float(hi), confidence=confidence,
                                  se=float(boot.std(ddof=1)), n_resamples=n_resamples)


def participant_means(values: ArrayLike, participants: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(participant ids in sorted order, mean outcome of each)."""
    y = _sample(values, "outcomes")
    ids, codes = np.unique(np.asarray(participants), return_inverse=True)
    if codes.size != y.size:
        raise ValueError("need one participant id per outcome")
    sums = np.bincount(codes, weights=y, minlength=ids.size)
    return ids, sums / np.bincount(codes, minlength=ids.size)


def participant_rank_test(values: ArrayLike, participants: ArrayLike, treatment: ArrayLike) -> MannWhitneyResult:
    """Mann–Whitney U on per-participant mean outcomes (one observation per participant), so a
    participant with many sessions does not count as many independent observations."""
    y, codes, arm = _arm_checks(values, participants, treatment)
    _, means = participant_means(y, codes)
    G = means.size
    tr = np.zeros(G, dtype=bool)
    tr[codes[arm]] = True
    res = mann_whitney_u(means[tr], means[~tr])
    return MannWhitneyResult(method=res.method + " on participant means", u=res.u, p_value=res.p_value,
                             prob_superiority=res.prob_superiority, rank_biserial=res.rank_biserial,
                             n_treatment=res.n_treatment, n_control=res.n_control)


@dataclass(frozen=True)
class IccResult:
    icc: float  # one-way ANOVA estimate, truncated at 0
    n_sessions: int
    n_participants: int
    mean_cluster_size: float  # Σn²/N: the size that enters the design effect with unequal clusters
    design_effect: float
    effective_n: float  # sessions / design effect
    identified: bool = True  # False when every participant has one session: no within-person variation to estimate it from


def observed_icc(values: ArrayLike, participants: ArrayLike, groups: ArrayLike | None = None) -> IccResult:
    """One-way ANOVA estimator of the intra-class correlation (Donner 1986) with unequal cluster
    sizes, on residuals from the ``groups`` means (pass the arm so a treatment effect does not
    look like participant variance), and the effective sample size N / design effect.
    """
    y = _sample(values, "outcomes", min_n=2)
    codes, G = _groups(participants, y.size)
    if G < 2:
        raise InsufficientDataError("the ICC needs at least two participants")
    if groups is not None:
        _, gcodes = np.unique(np.asarray(groups), return_inverse=True)
        gmean = np.bincount(gcodes, weights=y) / np.bincount(gcodes)
        y = y - gmean[gcodes]
    N = y.size
    counts = np.bincount(codes, minlength=G).astype(np.float64)
    means = np.bincount(codes, weights=y, minlength=G) / counts
    grand = y.mean()
    ssb = float((counts * (means - grand) ** 2).sum())
    ssw = float(((y - means[codes]) ** 2).sum())
    m_bar = float((counts**2).sum() / N)
    if N == G:  # one session per participant: the ICC is not identified, and does not matter
        icc = 0.0
    else:
        msb, msw = ssb / (G - 1), ssw / (N - G)
        n0 = (N - (counts**2).sum() / N) / (G - 1)
        denom = msb + (n0 - 1) * msw
        icc = max(0.0, (msb - msw) / denom) if denom > 0 else 0.0
    icc = float(icc)
    deff = 1.0 + (m_bar - 1.0) * icc
    return IccResult(icc=icc, n_sessions=N, n_participants=G, mean_cluster_size=m_bar, design_effect=deff,
                     effective_n=N / deff, identified=N > G)


# ---------------------------------------------------------------------------------------------
# within-subject (crossover) designs


def latin_square_orders(k: int) -> list[tuple[int, ...]]:
    """Williams' balanced Latin square for k conditions: every condition appears once in every
    position and (for even k) follows every other condition exactly once; for odd k the square
    and its mirror image are both used (2k orders), as Williams (1949) prescribes."""
    if k < 2:
        raise ValueError("a within-subject design needs at least two conditions")
    first = [0]
    lo, hi = 1, k - 1
    for i in range(1, k):
        if i % 2:
            first.append(lo)
            lo += 1
        else:
            first.append(hi)
            hi -= 1
    rows = [tuple((c + r) % k for c in first) for r in range(k)]
    if k % 2:
        rows += [tuple(reversed(r)) for r in rows]
    return rows


@dataclass(frozen=True)
class CrossoverResult:
    method: str
    effect: float  # mean within-participant difference treatment − control, adjusted for period
    se: float
    statistic: float
    df: int
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    period_effect: float  # second period − first period, within participants
    period_se: float
    period_p_value: float
    participants: int


def crossover_arrays(differences: ArrayLike, treatment_first: ArrayLike) -> tuple[Any, Any, Any, Any]:
    """Vectorised AB/BA estimates over the last axis (participants; NaN difference = absent):
    ``(effect, period_effect, se, df)``, see :func:`paired_crossover`."""
    d = np.asarray(differences, dtype=np.float64)
    first = np.asarray(treatment_first, dtype=bool)
    ok = np.isfinite(d)
    means, variances = [], 0.0
    for mask in (first & ok, ~first & ok):
        n = mask.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(mask, d, 0.0).sum(axis=-1) / n
            var = np.where(mask, (d - mean[..., None]) ** 2, 0.0).sum(axis=-1) / (n - 1)
            variances = variances + var / n
        means.append(mean)
    effect = 0.5 * (means[0] + means[1])
    period = 0.5 * (means[1] - means[0])  # treatment first: d = τ − π; control first: d = τ + π
    return effect, period, 0.5 * np.sqrt(variances), ok.sum(axis=-1) - 2


def paired_crossover(treatment_mean: ArrayLike, control_mean: ArrayLike, treatment_first: ArrayLike, *, confidence: float = 0.95) -> CrossoverResult:
    """Paired analysis of a two-condition crossover: per-participant mean outcomes under each
    condition and whether the participant met the treatment first (the order group).

    The classic AB/BA analysis (Jones & Kenward 2014, ch. 2): with ``d_i = y_T − y_C`` per
    participant, the treatment effect is the average of the mean ``d`` in the two order groups
    (so a period effect cancels) and the period effect is half the difference between the order
    groups' mean differences with its sign chosen so that positive means "later sessions score
    higher". Welch-type standard errors from the two order groups, t with participants − 2 df.
    """
    confidence = _check_confidence(confidence)
    yt = _sample(treatment_mean, "treatment means", min_n=2)
    yc = _sample(control_mean, "control means", min_n=2)
    first = np.asarray(treatment_first, dtype=bool)
    if yt.size != yc.size or first.size != yt.size:
        raise ValueError("need one treatment mean, one control mean and one order flag per participant")
    d = yt - yc
    n1, n2 = int(first.sum()), int((~first).sum())
    if n1 < 2 or n2 < 2:
        raise InsufficientDataError(f"order groups have {n1} and {n2} participants; each needs at least two "
                                    "to separate the treatment from the period effect")
    effect, period, se, df = crossover_arrays(d, first)
    effect, period, se = float(effect), float(period), float(se)
    t, p, lo, hi = _t_inference(effect, se, int(df), confidence,
                                why="the within-participant differences do not vary in either order group; "
                                    "no test is possible")
    pp = 2.0 * float(sps.t.sf(abs(period / se), df))
    df = int(df)
    return CrossoverResult(method=f"paired crossover (within-participant differences, period-adjusted), t({df})",
                           effect=float(effect), se=se, statistic=t, df=df, p_value=p, ci_low=lo, ci_high=hi,
                           confidence=confidence, period_effect=float(period), period_se=se,
                           period_p_value=min(1.0, pp), participants=int(d.size))
