"""Statistics for Attune's A/B experiments on mood-shift playlists. Pure: numpy and scipy only.

Everything here takes plain numbers or 1-D numpy arrays and returns frozen dataclasses, so the
results page, the periodic recompute task and the validation tests all call the same code.
Conventions that hold for every function:

- Two arms are passed as ``(treatment, control)`` and every effect is ``treatment − control``
  (the order of ``scipy.stats.ttest_ind(a, b)``: ``mean(a) − mean(b)``).
- Every test is two-sided. Confidence intervals are two-sided at ``confidence`` (default 0.95).
- Degenerate input (an empty arm, fewer than two observations where a variance is needed,
  zero variance where a test statistic would divide by it, NaN or infinite values) raises
  :class:`InsufficientDataError`, a ``ValueError`` whose message says what is missing. No
  function returns NaN for a p-value or an interval.

Methods and references:

- Summary: mean, sample sd (ddof=1), t-based interval ``mean ± t(n−1) · sd/√n``.
- Welch (1947) t-test with Welch–Satterthwaite degrees of freedom.
- Mann–Whitney U (1947): exact null distribution when one arm has ≤ 8 observations and there
  are no ties, otherwise the normal approximation with tie and continuity correction (the same
  rule as ``scipy.stats.mannwhitneyu(method="auto")``).
- Bootstrap interval for the difference in means (Efron & Tibshirani 1993, ch. 13–14): arms
  resampled independently, percentile or BCa (jackknife acceleration per arm, as scipy does).
- Hedges' g with the small-sample correction ``J = 1 − 3/(4N − 9)`` and variance
  ``N/(n₁n₂) + g²/(2(N − 3.94))`` (Hedges & Olkin 1985; as statsmodels ``effectsize_smd``).
- Two-proportion z-test with the pooled variance; interval for the difference by Newcombe's
  (1998) hybrid score method (default) or Wald.
- CUPED (Deng, Xu, Kohavi & Walker 2013): ``Y_adj = Y − θ (X − mean(X))`` with θ the pooled
  within-arm covariance of outcome and pre-session covariate over the pooled within-arm
  variance of the covariate, then Welch on the adjusted outcomes. With this θ the adjusted
  difference equals the ANCOVA (OLS ``y ~ arm + x``) treatment coefficient.
- Sample-ratio mismatch: Pearson chi-square goodness of fit against the planned allocation
  weights, flagged at p < 0.001 (Fabijan et al. 2019, "Diagnosing Sample Ratio Mismatch").
- Holm (1979) step-down adjustment across secondary metrics.
- Power and sample size for the two-sample t-test from the noncentral t distribution (as
  statsmodels ``TTestIndPower``).
- Sequential monitoring: the mixture sequential probability ratio test (mSPRT) with a normal
  mixing distribution N(θ₀, τ²) (Johari, Pekelis & Walsh 2017, "Always valid inference";
  Johari, Koomen, Pekelis & Walsh 2022, Operations Research 70(3)). For a difference estimate
  Δ̂ₙ with variance vₙ = s²_T/n_T + s²_C/n_C,
  ``Λₙ = √(vₙ/(vₙ+τ²)) · exp(τ²(Δ̂ₙ−θ₀)² / (2vₙ(vₙ+τ²)))``; the always-valid p-value is
  ``pₙ = min(p_{n−1}, 1/Λₙ)`` and the always-valid confidence sequence is the running
  intersection of ``{θ₀ : Λₙ(θ₀) < 1/α}``. A researcher may look after every day and stop
  whenever pₙ ≤ α without inflating the false-positive rate. Variances are plugged in from
  the data (asymptotically valid, Johari et al. 2022 §4).

:func:`analyze_experiment` puts it together for a results page: per-arm table, SRM status,
and per treatment the primary test (CUPED when covariates exist), the robustness checks, the
Holm-adjusted secondary metrics, the optional sequential path and the verdict; what the data
cannot support yet becomes a note instead of an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

SRM_THRESHOLD = 0.001
# mSPRT burn-in: with plug-in variances a look needs this many outcomes per arm. Measured in the A/A
# simulations (tests/studies/test_stats_validation.py): looking from 2 per arm on pushed the
# false-positive rate to 11-13 % with τ = 1 sd; from 10 per arm on it stays under 3 %.
MSPRT_MIN_PER_ARM = 10


class InsufficientDataError(ValueError):
    """The data cannot support the requested statistic (empty arm, n < 2, zero variance...)."""


# ---------------------------------------------------------------------------------------------
# input checks


def _sample(values, what: str, *, min_n: int = 1) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array of outcomes, got shape {arr.shape}")
    if arr.size == 0:
        raise InsufficientDataError(f"{what} is empty: no outcomes recorded for this arm yet")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values; drop or impute them first")
    if arr.size < min_n:
        raise InsufficientDataError(f"{what} has {arr.size} observation(s); at least {min_n} are needed")
    return arr


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return float(confidence)


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    return float(alpha)


# ---------------------------------------------------------------------------------------------
# results with an effect and an interval: what `verdict` needs


class EffectEstimate(Protocol):
    method: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float


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


def summarize(values, *, name: str = "", confidence: float = 0.95) -> VariantSummary:
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


def _welch_from_moments(m1, v1, n1, m2, v2, n2):
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


def welch_t_test(treatment, control, *, confidence: float = 0.95) -> WelchResult:
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
    return 2.0 * sps.t.sf(np.abs(t), df)


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


def mann_whitney_u(treatment, control) -> MannWhitneyResult:
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


def _boot_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator, max_cells: int = 4_000_000):
    """Means of ``n_resamples`` resamples of x with replacement, in memory-bounded batches."""
    out = np.empty(n_resamples)
    batch = max(1, max_cells // x.size)
    for start in range(0, n_resamples, batch):
        stop = min(n_resamples, start + batch)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        out[start:stop] = x[idx].mean(axis=1)
    return out


def bootstrap_mean_diff(treatment, control, *, confidence: float = 0.95, n_resamples: int = 10_000,
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


def hedges_g(treatment, control, *, confidence: float = 0.95) -> HedgesGResult:
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


def _count(value, what: str) -> int:
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


def cuped_adjust(treatment, control, treatment_covariate, control_covariate) -> CupedAdjustment:
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


def cuped_test(treatment, control, treatment_covariate, control_covariate, *,
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
    entries = tuple(AdjustedPValue(name=names[i], p_value=float(ps[i]), adjusted=float(adjusted[i]),
                                   reject=bool(adjusted[i] <= alpha)) for i in range(m))
    return HolmResult(alpha=alpha, entries=entries)


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

    def gap(n):
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

    def gap(d):
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
# sequential monitoring: mSPRT with a normal mixture


def msprt_log_lambda(effect, variance, *, tau: float, theta0: float = 0.0):
    """log Λ of the normal-mixture SPRT for difference estimate(s) ``effect`` with variance(s) ``variance``.

    Works elementwise on arrays, so simulations can evaluate many experiments and looks at once.
    """
    if not tau > 0:
        raise ValueError("tau (the mixing standard deviation) must be positive")
    v = np.asarray(variance, dtype=np.float64)
    delta = np.asarray(effect, dtype=np.float64) - theta0
    t2 = tau * tau
    return 0.5 * np.log(v / (v + t2)) + t2 * delta**2 / (2.0 * v * (v + t2))


def msprt_radius(variance, *, tau: float, alpha: float):
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


def _cumulative_moments(x: np.ndarray, counts: np.ndarray):
    """Mean and variance (ddof=1) of the first k values of x for each k in counts."""
    shift = x.mean()
    c = x - shift
    s1 = np.concatenate([[0.0], np.cumsum(c)])[counts]
    s2 = np.concatenate([[0.0], np.cumsum(c * c)])[counts]
    mean = s1 / counts
    var = (s2 - s1 * s1 / counts) / (counts - 1)
    return mean + shift, np.maximum(var, 0.0)


def msprt(treatment, control, *, looks: Iterable[tuple[int, int]], tau: float, alpha: float = 0.05,
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


def looks_from_times(treatment_times, control_times, look_times, *,
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


# ---------------------------------------------------------------------------------------------
# verdict


@dataclass(frozen=True)
class Verdict:
    reject: bool
    alpha: float
    decision: str  # "reject H0 at α = 0.05" or "not enough evidence to reject H0 at α = 0.05"
    method: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    effect_label: str

    @property
    def sentence(self) -> str:
        return (f"{self.effect_label} = {self.effect:.3g} ({self.confidence:.0%} CI {self.ci_low:.3g} to "
                f"{self.ci_high:.3g}), {self.method} {_fmt_p(self.p_value)}: {self.decision}.")

    def __str__(self) -> str:
        return self.sentence


def _fmt_p(p: float) -> str:
    """'p < 0.0001', 'p = 0.0042' or 'p = 0.213'."""
    if p < 1e-4:
        return "p < 0.0001"
    if p < 0.01:
        return f"p = {p:.4f}"
    return f"p = {p:.3f}"


def verdict(result: EffectEstimate, *, alpha: float = 0.05, effect_label: str = "difference (treatment − control)",
            adjusted_p_value: float | None = None, adjustment: str = "") -> Verdict:
    """Spell out the decision for a test result that has an effect, an interval and a p-value.

    H0 is rejected when p ≤ α. Pass ``adjusted_p_value`` (and a short ``adjustment`` note such as
    "Holm over 2 treatments") when the decision must use a multiplicity-adjusted p-value.
    """
    alpha = _check_alpha(alpha)
    p = float(result.p_value if adjusted_p_value is None else adjusted_p_value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p-value must lie in [0, 1], got {p}")
    reject = p <= alpha
    a = f"{alpha:g}"
    decision = f"reject H0 at α = {a}" if reject else f"not enough evidence to reject H0 at α = {a}"
    method = f"{result.method} ({adjustment})" if adjustment else result.method
    return Verdict(reject=bool(reject), alpha=alpha, decision=decision, method=method,
                   effect=float(result.effect), ci_low=float(result.ci_low), ci_high=float(result.ci_high),
                   confidence=float(result.confidence), p_value=p, effect_label=effect_label)


# ---------------------------------------------------------------------------------------------
# the whole analysis of one experiment, as the results page shows it


@dataclass(frozen=True, eq=False)
class ArmData:
    """One variant's data, gathered by the services layer (arrays in session order).

    ``outcomes`` is the primary metric per analysed session; ``covariates`` (optional) the
    pre-session value used by CUPED, aligned with ``outcomes``; ``sessions``/``completed`` count
    started and completed sessions (completion rate); ``secondary`` maps continuous secondary
    metrics (e.g. "skip rate", "reflection rating") to per-session arrays; ``times`` (optional)
    are the outcome times in the same order, for sequential looks; ``exposures`` is the number
    of participants assigned (for SRM), by default ``len(outcomes)``.
    """

    name: str
    outcomes: np.ndarray
    weight: float = 1.0
    exposures: int | None = None
    covariates: np.ndarray | None = None
    sessions: int = 0
    completed: int = 0
    secondary: Mapping[str, np.ndarray] = field(default_factory=dict)
    times: np.ndarray | None = None


@dataclass(frozen=True)
class ArmReport:
    name: str
    exposures: int
    summary: VariantSummary | None  # None when the arm has fewer than 2 outcomes
    completion_rate: float | None  # None when no sessions were started


@dataclass(frozen=True)
class SecondaryResult:
    name: str
    method: str
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    adjusted_p_value: float  # Holm across this comparison's secondary metrics
    reject: bool


@dataclass(frozen=True)
class Comparison:
    treatment: str
    control: str
    primary: WelchResult | CupedResult | None  # CUPED when both arms have covariates, else Welch
    welch: WelchResult | None
    cuped: CupedResult | None
    mann_whitney: MannWhitneyResult | None
    bootstrap: BootstrapResult | None
    hedges_g: HedgesGResult | None
    secondary: tuple[SecondaryResult, ...]
    sequential: SequentialResult | None
    verdict: Verdict | None
    notes: tuple[str, ...]  # what could not be computed, and why


@dataclass(frozen=True)
class ExperimentAnalysis:
    alpha: float
    control: str
    arms: tuple[ArmReport, ...]
    srm: SrmResult | None
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...]


def _attempt(notes: list[str], what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # InsufficientDataError included: shown on the page instead of a crash
        notes.append(f"{what}: {exc}")
        return None


def analyze_experiment(*, control: ArmData, treatments: Sequence[ArmData], alpha: float = 0.05,
                       effect_label: str = "difference (treatment − control)", n_resamples: int = 10_000,
                       look_times: Sequence[float] | None = None, tau: float | None = None,
                       seed: int = 0) -> ExperimentAnalysis:
    """Every number on an experiment's results page, from the arms' data.

    The primary test per treatment is the CUPED-adjusted Welch test when both arms have
    pre-session covariates and Welch otherwise; Mann–Whitney, the bootstrap interval and
    Hedges' g are reported beside it. With more than one treatment the primary p-values are
    Holm-adjusted across treatments before the verdict. Secondary metrics (completion rate by the
    two-proportion test, continuous ones by Welch) are Holm-adjusted within each comparison. With
    ``look_times`` and ``tau`` and ``times`` on every arm, the mSPRT over those looks is added.
    Anything the data cannot support yet is skipped with a note, never a NaN.
    """
    alpha = _check_alpha(alpha)
    if not treatments:
        raise ValueError("an experiment needs at least one treatment besides the control")
    arms = [control, *treatments]
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError("variant names must be unique")
    for arm in arms:
        if "completion rate" in arm.secondary:
            raise ValueError("'completion rate' is computed from sessions/completed; do not pass it as a secondary array")
    confidence = 1.0 - alpha
    notes: list[str] = []

    reports = []
    for arm in arms:
        outcomes = np.asarray(arm.outcomes, dtype=np.float64)
        summary = _attempt(notes, f"summary of {arm.name}", summarize, outcomes, name=arm.name, confidence=confidence)
        rate = arm.completed / arm.sessions if arm.sessions > 0 else None
        exposures = int(arm.exposures) if arm.exposures is not None else int(outcomes.size)
        reports.append(ArmReport(name=arm.name, exposures=exposures, summary=summary, completion_rate=rate))
    srm = _attempt(notes, "sample-ratio check", sample_ratio_mismatch, [r.exposures for r in reports],
                   [a.weight for a in arms])

    partial = []
    for arm in treatments:
        cnotes: list[str] = []
        t, c = arm.outcomes, control.outcomes
        welch = _attempt(cnotes, "Welch t-test", welch_t_test, t, c, confidence=confidence)
        cuped = None
        if arm.covariates is not None and control.covariates is not None:
            cuped = _attempt(cnotes, "CUPED", cuped_test, t, c, arm.covariates, control.covariates,
                             confidence=confidence)
        mw = _attempt(cnotes, "Mann–Whitney U", mann_whitney_u, t, c)
        boot = _attempt(cnotes, "bootstrap", bootstrap_mean_diff, t, c, confidence=confidence,
                        n_resamples=n_resamples, seed=seed)
        g = _attempt(cnotes, "Hedges' g", hedges_g, t, c, confidence=confidence)

        secondary_raw: list[tuple[str, EffectEstimate]] = []
        if arm.sessions > 0 or control.sessions > 0:
            prop = _attempt(cnotes, "completion rate", two_proportion_z_test, arm.completed, arm.sessions,
                            control.completed, control.sessions, confidence=confidence)
            if prop is not None:
                secondary_raw.append(("completion rate", prop))
        for metric in arm.secondary:
            if metric not in control.secondary:
                cnotes.append(f"{metric}: missing for the control arm")
                continue
            res = _attempt(cnotes, metric, welch_t_test, arm.secondary[metric], control.secondary[metric],
                           confidence=confidence)
            if res is not None:
                secondary_raw.append((metric, res))
        secondary: tuple[SecondaryResult, ...] = ()
        if secondary_raw:
            adj = holm({name: r.p_value for name, r in secondary_raw}, alpha=alpha)
            secondary = tuple(SecondaryResult(name=name, method=r.method, effect=r.effect, ci_low=r.ci_low,
                                              ci_high=r.ci_high, p_value=r.p_value,
                                              adjusted_p_value=adj[name].adjusted, reject=adj[name].reject)
                              for name, r in secondary_raw)

        sequential = None
        if look_times is not None and tau is not None:
            if arm.times is None or control.times is None:
                cnotes.append("sequential test: outcome times missing")
            else:
                looks = looks_from_times(arm.times, control.times, look_times)
                if looks:
                    sequential = _attempt(cnotes, "sequential test", msprt, t, c, looks=looks, tau=tau, alpha=alpha)
                else:
                    cnotes.append(f"sequential test: no look has {MSPRT_MIN_PER_ARM} outcomes in each arm yet")
        partial.append((arm.name, cuped if cuped is not None else welch, welch, cuped, mw, boot, g, secondary,
                        sequential, cnotes))

    primaries = [(i, p[1]) for i, p in enumerate(partial) if p[1] is not None]
    adjusted: dict[int, float] = {}
    if len(treatments) > 1 and primaries:
        h = holm([r.p_value for _, r in primaries], alpha=alpha)
        adjusted = {i: e.adjusted for (i, _), e in zip(primaries, h.entries, strict=True)}
    comparisons = []
    for i, (name, primary, welch, cuped, mw, boot, g, secondary, sequential, cnotes) in enumerate(partial):
        v = None
        if primary is not None:
            v = verdict(primary, alpha=alpha, effect_label=effect_label, adjusted_p_value=adjusted.get(i),
                        adjustment=f"Holm over {len(primaries)} treatments" if i in adjusted else "")
        comparisons.append(Comparison(treatment=name, control=control.name, primary=primary, welch=welch, cuped=cuped,
                                      mann_whitney=mw, bootstrap=boot, hedges_g=g, secondary=secondary,
                                      sequential=sequential, verdict=v, notes=tuple(cnotes)))
    return ExperimentAnalysis(alpha=alpha, control=control.name, arms=tuple(reports), srm=srm,
                              comparisons=tuple(comparisons), notes=tuple(notes))
