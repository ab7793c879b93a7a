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

The package is split along its domain; import each name from the module that defines it:

- :mod:`studies.stats._common`: :class:`InsufficientDataError`, input checks, ``EffectEstimate``.
- :mod:`studies.stats.hypothesis`: summary, Welch, Mann–Whitney, bootstrap, Hedges' g, two
  proportions, CUPED, sample-ratio mismatch, Holm.
- :mod:`studies.stats.power`: power, sample size, minimum detectable effect, experiment plan.
- :mod:`studies.stats.sequential`: mSPRT and the looks it is run at.
- :mod:`studies.stats.report`: verdict and :func:`analyze_experiment`.
- :mod:`studies.stats.cluster`: the participant as the unit of analysis (cluster-robust CR2
  regression, CUPED/Lin, cluster bootstrap, rank test on participant means, ICC, crossover).
"""
