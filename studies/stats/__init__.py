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
cannot support yet becomes a note instead of an exception. When every arm carries participant
ids (``ArmData.participants``) the participant is the unit of analysis and every test is the
clustered one of :mod:`studies.stats.cluster` (the session-level tests above assume independent
observations and are valid only with one session per participant).

The package is split along its domain; every name the former single module ``studies/stats.py``
had is re-exported here, so ``from studies.stats import X`` and ``studies.stats.X`` keep working:

- :mod:`studies.stats._common`: :class:`InsufficientDataError`, input checks, ``EffectEstimate``.
- :mod:`studies.stats.hypothesis`: summary, Welch, Mann–Whitney, bootstrap, Hedges' g, two
  proportions, CUPED, sample-ratio mismatch, Holm.
- :mod:`studies.stats.power`: power, sample size, minimum detectable effect, experiment plan.
- :mod:`studies.stats.sequential`: mSPRT and the looks it is run at.
- :mod:`studies.stats.report`: verdict and :func:`analyze_experiment`.
- :mod:`studies.stats.cluster`: the participant as the unit of analysis (cluster-robust CR2
  regression, CUPED/Lin, cluster bootstrap, rank test on participant means, ICC, crossover).
"""

from __future__ import annotations

# Names the old module had at top level only because it imported them; kept importable.
import math  # noqa: F401
from collections.abc import Iterable, Mapping, Sequence  # noqa: F401
from dataclasses import dataclass, field  # noqa: F401
from typing import Protocol  # noqa: F401

import numpy as np  # noqa: F401
from scipy import optimize, special  # noqa: F401
from scipy import stats as sps  # noqa: F401

from studies.stats._common import (
    EffectEstimate as EffectEstimate,
)
from studies.stats._common import (
    InsufficientDataError as InsufficientDataError,
)
from studies.stats._common import (
    _check_alpha as _check_alpha,
)
from studies.stats._common import (
    _check_confidence as _check_confidence,
)
from studies.stats._common import (
    _fmt_p as _fmt_p,
)
from studies.stats._common import (
    _sample as _sample,
)
from studies.stats.hypothesis import (
    SRM_THRESHOLD as SRM_THRESHOLD,
)
from studies.stats.hypothesis import (
    AdjustedPValue as AdjustedPValue,
)
from studies.stats.hypothesis import (
    BootstrapResult as BootstrapResult,
)
from studies.stats.hypothesis import (
    CupedAdjustment as CupedAdjustment,
)
from studies.stats.hypothesis import (
    CupedResult as CupedResult,
)
from studies.stats.hypothesis import (
    HedgesGResult as HedgesGResult,
)
from studies.stats.hypothesis import (
    HolmResult as HolmResult,
)
from studies.stats.hypothesis import (
    MannWhitneyResult as MannWhitneyResult,
)
from studies.stats.hypothesis import (
    ProportionsResult as ProportionsResult,
)
from studies.stats.hypothesis import (
    SrmResult as SrmResult,
)
from studies.stats.hypothesis import (
    VariantSummary as VariantSummary,
)
from studies.stats.hypothesis import (
    WelchResult as WelchResult,
)
from studies.stats.hypothesis import (
    _boot_means as _boot_means,
)
from studies.stats.hypothesis import (
    _count as _count,
)
from studies.stats.hypothesis import (
    _mwu_exact_sf as _mwu_exact_sf,
)
from studies.stats.hypothesis import (
    _welch_from_moments as _welch_from_moments,
)
from studies.stats.hypothesis import (
    _wilson as _wilson,
)
from studies.stats.hypothesis import (
    bootstrap_mean_diff as bootstrap_mean_diff,
)
from studies.stats.hypothesis import (
    cuped_adjust as cuped_adjust,
)
from studies.stats.hypothesis import (
    cuped_test as cuped_test,
)
from studies.stats.hypothesis import (
    hedges_g as hedges_g,
)
from studies.stats.hypothesis import (
    holm as holm,
)
from studies.stats.hypothesis import (
    mann_whitney_u as mann_whitney_u,
)
from studies.stats.hypothesis import (
    sample_ratio_mismatch as sample_ratio_mismatch,
)
from studies.stats.hypothesis import (
    summarize as summarize,
)
from studies.stats.hypothesis import (
    two_proportion_z_test as two_proportion_z_test,
)
from studies.stats.hypothesis import (
    welch_p_values as welch_p_values,
)
from studies.stats.hypothesis import (
    welch_t_test as welch_t_test,
)
from studies.stats.power import (
    ExperimentPlan as ExperimentPlan,
)
from studies.stats.power import (
    ParticipantPlan as ParticipantPlan,
)
from studies.stats.power import (
    SampleSizePlan as SampleSizePlan,
)
from studies.stats.power import (
    _effect_size as _effect_size,
)
from studies.stats.power import (
    check_icc as check_icc,
)
from studies.stats.power import (
    design_effect as design_effect,
)
from studies.stats.power import (
    minimum_detectable_effect as minimum_detectable_effect,
)
from studies.stats.power import (
    plan_crossover as plan_crossover,
)
from studies.stats.power import (
    plan_experiment as plan_experiment,
)
from studies.stats.power import (
    plan_participants as plan_participants,
)
from studies.stats.power import (
    power_two_sample as power_two_sample,
)
from studies.stats.power import (
    sample_size_two_sample as sample_size_two_sample,
)
from studies.stats.report import (
    ArmData as ArmData,
)
from studies.stats.report import (
    ArmReport as ArmReport,
)
from studies.stats.report import (
    Comparison as Comparison,
)
from studies.stats.report import (
    ExperimentAnalysis as ExperimentAnalysis,
)
from studies.stats.report import (
    SecondaryResult as SecondaryResult,
)
from studies.stats.report import (
    Verdict as Verdict,
)
from studies.stats.report import (
    _attempt as _attempt,
)
from studies.stats.report import (
    analyze_experiment as analyze_experiment,
)
from studies.stats.report import (
    verdict as verdict,
)
from studies.stats.sequential import (
    MSPRT_MIN_PARTICIPANTS_PER_ARM as MSPRT_MIN_PARTICIPANTS_PER_ARM,
)
from studies.stats.sequential import (
    MSPRT_MIN_PER_ARM as MSPRT_MIN_PER_ARM,
)
from studies.stats.sequential import (
    SequentialLook as SequentialLook,
)
from studies.stats.sequential import (
    SequentialResult as SequentialResult,
)
from studies.stats.sequential import (
    _cumulative_moments as _cumulative_moments,
)
from studies.stats.sequential import (
    looks_from_times as looks_from_times,
)
from studies.stats.sequential import (
    msprt as msprt,
)
from studies.stats.sequential import (
    msprt_clustered as msprt_clustered,
)
from studies.stats.sequential import (
    msprt_log_lambda as msprt_log_lambda,
)
from studies.stats.sequential import (
    msprt_radius as msprt_radius,
)

__all__ = [
    "MSPRT_MIN_PARTICIPANTS_PER_ARM",
    "ParticipantPlan",
    "check_icc",
    "design_effect",
    "msprt_clustered",
    "plan_crossover",
    "plan_participants",
    "AdjustedPValue",
    "ArmData",
    "ArmReport",
    "BootstrapResult",
    "Comparison",
    "CupedAdjustment",
    "CupedResult",
    "EffectEstimate",
    "ExperimentAnalysis",
    "ExperimentPlan",
    "HedgesGResult",
    "HolmResult",
    "InsufficientDataError",
    "MSPRT_MIN_PER_ARM",
    "MannWhitneyResult",
    "ProportionsResult",
    "SRM_THRESHOLD",
    "SampleSizePlan",
    "SecondaryResult",
    "SequentialLook",
    "SequentialResult",
    "SrmResult",
    "VariantSummary",
    "Verdict",
    "WelchResult",
    "analyze_experiment",
    "bootstrap_mean_diff",
    "cuped_adjust",
    "cuped_test",
    "hedges_g",
    "holm",
    "looks_from_times",
    "mann_whitney_u",
    "minimum_detectable_effect",
    "msprt",
    "msprt_log_lambda",
    "msprt_radius",
    "plan_experiment",
    "power_two_sample",
    "sample_ratio_mismatch",
    "sample_size_two_sample",
    "summarize",
    "two_proportion_z_test",
    "verdict",
    "welch_p_values",
    "welch_t_test",
]
