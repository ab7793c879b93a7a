"""Two-arm tests and their diagnostics: per-variant summary, Welch t-test, Mann–Whitney U,
bootstrap interval, Hedges' g, two proportions, CUPED, sample-ratio mismatch and the Holm correction."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy import stats as sps

from studies.stats._common import InsufficientDataError, _check_alpha, _check_confidence, _fmt_p, _sample

SRM_THRESHOLD = 0.001
HOLM_RTOL = 1e-9  # relative tolerance at the Holm boundary, far above rounding and far below any real gap


# ---------------------------------------------------------------------------------------------
# per-variant summary


@dataclass(frozen=True)
class VariantSummary:
    name: str
    n: int
    mean: float
    sd: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float


def summarize(values: ArrayLike, *, name: str = "", confidence: float = 0.95) -> VariantSummary:
    """n, mean, sample standard deviation and t-based interval of one arm's outcomes."""
    confidence = _check_confidence(confidence)
    x = _sample(values, f"variant {name!r}" if name else "sample", min_n=2)
    n = x.size
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return VariantSummary(name=name, n=n, mean=mean, sd=sd, se=se, ci_low=mean - half, ci_high=mean + half,
                          confidence=confidence)


# ---------------------------------------------------------------------------------------------
# Welch's t-test


@dataclass(frozen=True)
class WelchResult:
    method: str
    effect: float  # mean(treatment) − mean(control)
    se: float
    statistic: float  # t
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    n_treatment: int
    n_control: int


def _welch_from_moments(
    m1: Any, v1: Any, n1: Any, m2: Any, v2: Any, n2: Any
) -> tuple[Any, Any, Any, Any]:
    """Vectorised Welch pieces from means, variances (ddof=1) and sizes: (diff, se, t, df)."""
    a = v1 / n1
    b = v2 / n2
    se2 = a + b
    diff = m1 - m2
    se = np.sqrt(se2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / se
        df = se2**2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    return diff, se, t, df


def welch_t_test(treatment: ArrayLike, control: ArrayLike, *, confidence: float = 0.95) -> WelchResult:
    """Welch's unequal-variance t-test of mean(treatment) − mean(control), two-sided."""
    confidence = _check_confidence(confidence)
    x = _sample(treatment, "treatment arm", min_n=2)
    y = _sample(control, "control arm", min_n=2)
    v1, v2 = float(x.var(ddof=1)), float(y.var(ddof=1))
    if v1 == 0.0 and v2 == 0.0:
        raise InsufficientDataError(
            "both arms have zero variance (every outcome identical within each arm); a t-test is undefined"
        )
    diff, se, t, df = _welch_from_moments(float(x.mean()), v1, x.size, float(y.mean()), v2, y.size)
    p = float(2.0 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * float(se)
    return WelchResult(method="Welch t-test", effect=float(diff), se=float(se), statistic=float(t), df=float(df),
                       p_value=min(1.0, p), ci_low=float(diff) - half, ci_high=float(diff) + half,
                       confidence=confidence, n_treatment=x.size, n_control=y.size)


def welch_p_values(treatment: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Welch two-sided p-values for many experiments at once: rows are experiments.

    ``treatment`` has shape (k, n1) and ``control`` (k, n2). Used by simulations (A/A, power).
    """
    x = np.asarray(treatment, dtype=np.float64)
    y = np.asarray(control, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError("expected two 2-D arrays with one row per experiment")
    if x.shape[1] < 2 or y.shape[1] < 2:
        raise InsufficientDataError("each arm needs at least 2 observations per experiment")
    _, _, t, df = _welch_from_moments(x.mean(1), x.var(1, ddof=1), x.shape[1], y.mean(1), y.var(1, ddof=1),
                                      y.shape[1])
    return np.asarray(2.0 * sps.t.sf(np.abs(t), df), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Mann–Whitney U


@dataclass(frozen=True)
class MannWhitneyResult:
    method: str  # "Mann–Whitney U (exact)" or "Mann–Whitney U (normal approximation)"
    u: float  # U of the treatment arm
    p_value: float
    prob_superiority: float  # P(T > C) + ½ P(T = C) = U / (n₁ n₂)
    rank_biserial: float  # 2 · prob_superiority − 1, in [−1, 1]
    n_treatment: int
    n_control: int


def _mwu_exact_sf(u: float, n1: int, n2: int) -> float:
    """P(U ≥ u) under H0 from the Gaussian-binomial generating function, exact integer counts."""
    m, n = min(n1, n2), max(n1, n2)
    size = m * n + 1
    poly = np.zeros(size, dtype=object)
    poly[0] = 1
    for i in range(1, m + 1):  # poly *= (1 − q^(n+i)) / (1 − q^i); intermediate results stay polynomials
        shift = n + i
        if shift < size:
            poly[shift:] = poly[shift:] - poly[:-shift].copy()
        for r in range(i):
            poly[r::i] = np.cumsum(poly[r::i])
    total = sum(poly)
    k = int(math.ceil(u - 1e-9))
    return float(sum(poly[k:])) / float(total) if k < size else 0.0


def mann_whitney_u(treatment: ArrayLike, control: ArrayLike) -> MannWhitneyResult:
    """Two-sided Mann–Whitney U test; the same statistic and p-value as scipy's ``method="auto"``."""
    x = _sample(treatment, "treatment arm")
    y = _sample(control, "control arm")
    n1, n2 = x.size, y.size
    ranks = sps.rankdata(np.concatenate([x, y]))
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u2 = n1 * n2 - u1
    _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
    ties = bool(np.any(counts > 1))
    u = max(u1, u2)
    if (n1 <= 8 or n2 <= 8) and not ties:
        method = "Mann–Whitney U (exact)"
        p = 2.0 * _mwu_exact_sf(u, n1, n2)
    else:
        method = "Mann–Whitney U (normal approximation)"
        big_n = n1 + n2
        tie_term = float((counts**3 - counts).sum())
        var = n1 * n2 / 12.0 * ((big_n + 1) - tie_term / (big_n * (big_n - 1)))
        if var <= 0.0:
            raise InsufficientDataError("every outcome in both arms is identical; the rank test is undefined")
        z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(var)
        p = 2.0 * float(special.ndtr(-z))
    ps = u1 / (n1 * n2)
    return MannWhitneyResult(method=method, u=u1, p_value=float(min(1.0, max(0.0, p))), prob_superiority=ps,
                             rank_biserial=2.0 * ps - 1.0, n_treatment=n1, n_control=n2)


# ---------------------------------------------------------------------------------------------
# bootstrap interval for the difference in means


@dataclass(frozen=True)
class BootstrapResult:
    method: str
    effect: float  # observed mean(treatment) − mean(control)
    ci_low: float
    ci_high: float
    confidence: float
    se: float  # standard deviation of the bootstrap distribution
    n_resamples: int
    interval: str  # "percentile" or "BCa"


def _boot_means(
    x: np.ndarray, n_resamples: int, rng: np.random.Generator, max_cells: int = 4_000_000
) -> NDArray[np.float64]:
    """Means of ``n_resamples`` resamples of x with replacement, in memory-bounded batches."""
    out = np.empty(n_resamples)
    batch = max(1, max_cells // x.size)
    for start in range(0, n_resamples, batch):
        stop = min(n_resamples, start + batch)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        out[start:stop] = x[idx].mean(axis=1)
    return out


def bootstrap_mean_diff(treatment: ArrayLike, control: ArrayLike, *, confidence: float = 0.95, n_resamples: int = 10_000,
                        interval: str = "bca", seed: int | np.random.Generator = 0) -> BootstrapResult:
    """Bootstrap interval for mean(treatment) − mean(control); arms resampled independently.

    ``seed`` fixes the resampling so a results page shows the same interval on every recompute.
    """
    confidence = _check_confidence(confidence)
    x = _sample(treatment, "treatment arm", min_n=2)
    y = _sample(control, "control arm", min_n=2)
    if interval not in ("bca", "percentile"):
        raise ValueError(f"interval must be 'bca' or 'percentile', got {interval!r}")
    if n_resamples < 100:
        raise ValueError("n_resamples must be at least 100")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    observed = float(x.mean() - y.mean())
    boot = _boot_means(x, n_resamples, rng) - _boot_means(y, n_resamples, rng)
    if np.ptp(boot) == 0.0:
        raise InsufficientDataError("every outcome is identical within each arm; the bootstrap distribution is a point")
    tail = (1.0 - confidence) / 2.0
    if interval == "percentile":
        q_low, q_high = tail, 1.0 - tail
        label = "percentile"
    else:
        # bias correction z0 from the share of resamples below the observed difference (ties count half)
        share = ((boot < observed).sum() + (boot <= observed).sum()) / (2.0 * n_resamples)
        z0 = float(special.ndtri(share))
        # acceleration from per-arm jackknife: leave-one-out means are (sum − xᵢ)/(n − 1)
        jack_x = (x.sum() - x) / (x.size - 1) - y.mean()
        jack_y = x.mean() - (y.sum() - y) / (y.size - 1)
        num = 0.0
        den = 0.0
        for jack in (jack_x, jack_y):
            k = float(jack.size)
            u = (k - 1.0) * (jack.mean() - jack)
            num += float((u**3).sum()) / k**3
            den += float((u**2).sum()) / k**2
        a = num / (6.0 * den**1.5) if den > 0 else 0.0
        z_lo, z_hi = float(special.ndtri(tail)), float(special.ndtri(1.0 - tail))
        q_low = float(special.ndtr(z0 + (z0 + z_lo) / (1.0 - a * (z0 + z_lo))))
        q_high = float(special.ndtr(z0 + (z0 + z_hi) / (1.0 - a * (z0 + z_hi))))
        label = "BCa"
    low, high = np.percentile(boot, [100.0 * q_low, 100.0 * q_high])
    return BootstrapResult(method=f"bootstrap ({label}, {n_resamples} resamples)", effect=observed,
                           ci_low=float(low), ci_high=float(high), confidence=confidence,
                           se=float(boot.std(ddof=1)), n_resamples=n_resamples, interval=label)


# ---------------------------------------------------------------------------------------------
# Hedges' g


@dataclass(frozen=True)
class HedgesGResult:
    g: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    cohens_d: float
    pooled_sd: float


def hedges_g(treatment: ArrayLike, control: ArrayLike, *, confidence: float = 0.95) -> HedgesGResult:
    """Bias-corrected standardised mean difference (treatment − control) with a normal interval."""
    confidence = _check_confidence(confidence)
    x = _sample(treatment, "treatment arm", min_n=2)
    y = _sample(control, "control arm", min_n=2)
    n1, n2 = x.size, y.size
    big_n = n1 + n2
    if big_n < 4:
        raise InsufficientDataError("Hedges' g needs at least 4 observations in total")
    pooled_var = ((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (big_n - 2)
    if pooled_var == 0.0:
        raise InsufficientDataError("pooled standard deviation is zero; a standardised effect is undefined")
    sd = math.sqrt(pooled_var)
    d = float(x.mean() - y.mean()) / sd
    g = (1.0 - 3.0 / (4.0 * big_n - 9.0)) * d
    se = math.sqrt(big_n / (n1 * n2) + g * g / (2.0 * (big_n - 3.94)))
    z = float(special.ndtri(0.5 + confidence / 2))
    return HedgesGResult(g=g, se=se, ci_low=g - z * se, ci_high=g + z * se, confidence=confidence, cohens_d=d,
                         pooled_sd=sd)


# ---------------------------------------------------------------------------------------------
# two proportions (completion rates)


@dataclass(frozen=True)
class ProportionsResult:
    method: str
    count_treatment: int
    n_treatment: int
    count_control: int
    n_control: int
    rate_treatment: float
    rate_control: float
    effect: float  # rate_treatment − rate_control
    statistic: float  # z with pooled variance
    p_value: float
    ci_low: float
    ci_high: float
    confidence: float
    interval: str  # "Newcombe" or "Wald"


def _wilson(count: int, n: int, z: float) -> tuple[float, float]:
    p = count / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def two_proportion_z_test(count_treatment: int, n_treatment: int, count_control: int, n_control: int, *,
                          confidence: float = 0.95, interval: str = "newcombe") -> ProportionsResult:
    """Pooled two-proportion z-test (e.g. completion rates) with an interval for the difference."""
    confidence = _check_confidence(confidence)
    c1, n1 = _count(count_treatment, "count_treatment"), _count(n_treatment, "n_treatment")
    c2, n2 = _count(count_control, "count_control"), _count(n_control, "n_control")
    for c, n, arm in ((c1, n1, "treatment"), (c2, n2, "control")):
        if n <= 0:
            raise InsufficientDataError(f"{arm} arm has no sessions")
        if not 0 <= c <= n:
            raise ValueError(f"{arm} arm: count {c} is outside 0..{n}")
    if interval not in ("newcombe", "wald"):
        raise ValueError(f"interval must be 'newcombe' or 'wald', got {interval!r}")
    p1, p2 = c1 / n1, c2 / n2
    pooled = (c1 + c2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        what = "0%" if pooled == 0.0 else "100%"
        raise InsufficientDataError(f"the rate is {what} in both arms; there is no variation to test")
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2.0 * float(special.ndtr(-abs(z)))
    zc = float(special.ndtri(0.5 + confidence / 2))
    diff = p1 - p2
    if interval == "wald":
        half = zc * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        low, high, label = diff - half, diff + half, "Wald"
    else:
        l1, u1 = _wilson(c1, n1, zc)
        l2, u2 = _wilson(c2, n2, zc)
        low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        label = "Newcombe"
    return ProportionsResult(method="two-proportion z-test", count_treatment=c1, n_treatment=n1, count_control=c2,
                             n_control=n2, rate_treatment=p1, rate_control=p2, effect=diff, statistic=z,
                             p_value=min(1.0, p), ci_low=low, ci_high=high, confidence=confidence, interval=label)


# ---------------------------------------------------------------------------------------------
# CUPED


@dataclass(frozen=True)
class CupedResult:
    method: str
    theta: float
    covariate_mean: float
    correlation: float  # pooled within-arm correlation of outcome and covariate
    variance_reduction: float  # 1 − (pooled within-arm variance after / before); ≈ correlation²
    unadjusted_effect: float
    adjusted: WelchResult

    @property
    def effect(self) -> float:
        return self.adjusted.effect

    @property
    def ci_low(self) -> float:
        return self.adjusted.ci_low

    @property
    def ci_high(self) -> float:
        return self.adjusted.ci_high

    @property
    def confidence(self) -> float:
        return self.adjusted.confidence

    @property
    def p_value(self) -> float:
        return self.adjusted.p_value


@dataclass(frozen=True)
class CupedAdjustment:
    theta: float
    covariate_mean: float
    treatment: np.ndarray
    control: np.ndarray


def cuped_adjust(
    treatment: ArrayLike, control: ArrayLike, treatment_covariate: ArrayLike, control_covariate: ArrayLike
) -> CupedAdjustment:
    """CUPED-adjusted outcomes ``Y − θ (X − mean(X))`` with θ from the pooled within-arm covariance."""
    y1 = _sample(treatment, "treatment arm", min_n=2)
    y0 = _sample(control, "control arm", min_n=2)
    x1 = _sample(treatment_covariate, "treatment covariate", min_n=2)
    x0 = _sample(control_covariate, "control covariate", min_n=2)
    if x1.size != y1.size or x0.size != y0.size:
        raise ValueError("each arm needs exactly one pre-session covariate value per outcome")
    xc1, xc0 = x1 - x1.mean(), x0 - x0.mean()
    sxx = float((xc1**2).sum() + (xc0**2).sum())
    if sxx == 0.0:
        raise InsufficientDataError("the pre-session covariate is constant within both arms; CUPED cannot adjust")
    sxy = float((xc1 * (y1 - y1.mean())).sum() + (xc0 * (y0 - y0.mean())).sum())
    theta = sxy / sxx
    x_mean = float(np.concatenate([x1, x0]).mean())
    return CupedAdjustment(theta=theta, covariate_mean=x_mean, treatment=y1 - theta * (x1 - x_mean),
                           control=y0 - theta * (x0 - x_mean))


def cuped_test(treatment: ArrayLike, control: ArrayLike, treatment_covariate: ArrayLike, control_covariate: ArrayLike, *,
               confidence: float = 0.95) -> CupedResult:
    """Welch's t-test on CUPED-adjusted outcomes (covariate: the pre-session state)."""
    adj = cuped_adjust(treatment, control, treatment_covariate, control_covariate)
    y1, y0 = np.asarray(treatment, dtype=np.float64), np.asarray(control, dtype=np.float64)
    x1, x0 = np.asarray(treatment_covariate, dtype=np.float64), np.asarray(control_covariate, dtype=np.float64)
    syy = float(((y1 - y1.mean()) ** 2).sum() + ((y0 - y0.mean()) ** 2).sum())
    sxx = float(((x1 - x1.mean()) ** 2).sum() + ((x0 - x0.mean()) ** 2).sum())
    if syy == 0.0:
        raise InsufficientDataError("the outcome is constant within both arms; nothing to adjust or test")
    sxy = adj.theta * sxx
    corr = sxy / math.sqrt(sxx * syy)
    adjusted = welch_t_test(adj.treatment, adj.control, confidence=confidence)
    return CupedResult(method="CUPED + Welch t-test", theta=adj.theta, covariate_mean=adj.covariate_mean,
                       correlation=corr, variance_reduction=corr * corr,
                       unadjusted_effect=float(y1.mean() - y0.mean()), adjusted=adjusted)


# ---------------------------------------------------------------------------------------------
# sample-ratio mismatch


@dataclass(frozen=True)
class SrmResult:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float
    df: int
    p_value: float
    threshold: float
    mismatch: bool

    @property
    def status(self) -> str:
        if self.mismatch:
            return (f"sample ratio mismatch ({_fmt_p(self.p_value)}, below {self.threshold:g}): "
                    "assignment or logging is broken; do not trust the comparison")
        return f"no sample ratio mismatch ({_fmt_p(self.p_value)})"


def sample_ratio_mismatch(observed: Sequence[int], weights: Sequence[float], *,
                          threshold: float = SRM_THRESHOLD) -> SrmResult:
    """Chi-square goodness of fit of observed arm sizes to the planned allocation weights."""
    obs = np.asarray([_count(o, "observed count") for o in observed], dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if obs.size < 2 or obs.size != w.size:
        raise ValueError("need one planned weight per arm and at least two arms")
    if np.any(obs < 0):
        raise ValueError("observed counts must be non-negative")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("allocation weights must be positive finite numbers")
    total = obs.sum()
    if total == 0:
        raise InsufficientDataError("no exposures recorded yet; SRM needs at least one assignment")
    expected = total * w / w.sum()
    chi2 = float(((obs - expected) ** 2 / expected).sum())
    df = obs.size - 1
    p = float(sps.chi2.sf(chi2, df))
    return SrmResult(observed=tuple(int(o) for o in obs), expected=tuple(float(e) for e in expected), statistic=chi2,
                     df=df, p_value=p, threshold=threshold, mismatch=p < threshold)


# ---------------------------------------------------------------------------------------------
# Holm correction


@dataclass(frozen=True)
class AdjustedPValue:
    name: str
    p_value: float
    adjusted: float
    reject: bool


@dataclass(frozen=True)
class HolmResult:
    alpha: float
    entries: tuple[AdjustedPValue, ...]  # in the order given

    def __getitem__(self, name: str) -> AdjustedPValue:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)


def holm(p_values: Mapping[str, float] | Sequence[float], *, alpha: float = 0.05) -> HolmResult:
    """Holm step-down adjusted p-values (family-wise error ≤ α), e.g. across secondary metrics."""
    alpha = _check_alpha(alpha)
    if isinstance(p_values, Mapping):
        names = [str(k) for k in p_values]
        ps = np.asarray(list(p_values.values()), dtype=np.float64)
    else:
        ps = np.asarray(list(p_values), dtype=np.float64)
        names = [str(i) for i in range(ps.size)]
    if ps.size == 0:
        raise ValueError("no p-values to adjust")
    if not np.all((ps >= 0) & (ps <= 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = ps.size
    order = np.argsort(ps, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * ps[order])
    adjusted_sorted = np.maximum.accumulate(stepped)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    # (m − k)·p is rounded: p = α/3 gives 3·p = 0.05000000000000001. A p at the α/(m − k) boundary
    # rejects (the rule is p ≤ α/(m − k)), so the comparison allows a relative tolerance.
    tol = alpha * HOLM_RTOL
    entries = tuple(AdjustedPValue(name=names[i], p_value=float(ps[i]), adjusted=float(adjusted[i]),
                                   reject=bool(adjusted[i] <= alpha + tol)) for i in range(m))
    return HolmResult(alpha=alpha, entries=entries)


