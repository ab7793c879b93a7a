"""Validation of studies/stats.py (issue 6): simulations that could fail, and agreement with
scipy and statsmodels on the same data.

- 2,000 simulated A/A experiments: the fixed-horizon Welch test rejects in [4 %, 6 %] at α = 0.05.
- The same A/A experiments watched daily (30 looks): the mSPRT rejects at most α of them, while
  naive daily Welch peeking rejects far more (showing the simulation can detect inflation).
- Simulated power at the planned n is within 5 points of the power calculation.
- Every p-value and interval matches scipy/statsmodels on the same data.
- SRM flags a 55/45 split at large n and not a 50/50 one.

All simulations are seeded and vectorised (one array per batch of experiments).
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.meta_analysis import effectsize_smd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from studies.stats import hypothesis, power, sequential

N_EXPERIMENTS = 2000
ALPHA = 0.05


def _mood_shift_outcomes(rng: np.random.Generator, shape, *, effect: float = 0.0) -> np.ndarray:
    """Bounded, skewed outcomes like 'reduction of valence/arousal distance to the target'.

    Pre-session distance to the target in [0, 2√2]; the post-session distance shrinks by a noisy
    factor. ``effect`` shifts the reduction (in the outcome's own units).
    """
    pre = np.minimum(2.8, rng.gamma(4.0, 0.25, size=shape))
    shrink = np.clip(rng.normal(0.25, 0.3, size=shape), -0.5, 1.0)
    return pre * shrink + effect


# ---------------------------------------------------------------------------------------------
# A/A: fixed horizon


def test_aa_false_positive_rate_of_fixed_horizon_welch_is_nominal():
    rng = np.random.default_rng(20261123)
    n_t, n_c = 120, 80  # unequal arms: what Welch is for
    t = _mood_shift_outcomes(rng, (N_EXPERIMENTS, n_t))
    c = _mood_shift_outcomes(rng, (N_EXPERIMENTS, n_c))
    p = hypothesis.welch_p_values(t, c)
    # the vectorised path is the same test scipy runs, row by row
    ref = sps.ttest_ind(t, c, axis=1, equal_var=False).pvalue
    np.testing.assert_allclose(p, ref, rtol=1e-10, atol=1e-14)
    fpr = float((p < ALPHA).mean())
    assert 0.04 <= fpr <= 0.06, f"A/A false-positive rate {fpr:.4f} outside [0.04, 0.06]"


# ---------------------------------------------------------------------------------------------
# A/A: daily peeking


def _cumulative_estimates(t: np.ndarray, c: np.ndarray, counts: np.ndarray):
    """Difference in means and its variance at each look, for every experiment: shapes (k, looks)."""

    def moments(x):
        s1 = np.cumsum(x, axis=1)[:, counts - 1]
        s2 = np.cumsum(x * x, axis=1)[:, counts - 1]
        mean = s1 / counts
        var = (s2 - counts * mean**2) / (counts - 1)
        return mean, var

    m1, v1 = moments(t)
    m2, v2 = moments(c)
    return m1 - m2, v1 / counts + v2 / counts


def test_msprt_keeps_false_positives_below_alpha_under_daily_peeking():
    rng = np.random.default_rng(6)
    per_day, days = 20, 30
    counts = per_day * np.arange(1, days + 1)
    t = _mood_shift_outcomes(rng, (N_EXPERIMENTS, per_day * days))
    c = _mood_shift_outcomes(rng, (N_EXPERIMENTS, per_day * days))
    tau = 0.1  # the mixing sd in outcome units: about the MDE a researcher would plan for here
    est, var = _cumulative_estimates(t, c, counts)
    log_lam = sequential.msprt_log_lambda(est, var, tau=tau)
    always_valid_p = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lam)), axis=1)
    sequential_fpr = float((always_valid_p[:, -1] <= ALPHA).mean())
    assert sequential_fpr <= ALPHA, f"mSPRT false-positive rate {sequential_fpr:.4f} > α under 30 looks"

    # the public msprt() gives the same answers as the vectorised path
    for i in range(5):
        r = sequential.msprt(t[i], c[i], looks=[(k, k) for k in counts], tau=tau)
        np.testing.assert_allclose([lk.p_value for lk in r.looks], always_valid_p[i], rtol=1e-8)

    # contrast: stopping at the first daily Welch p < α inflates false positives well past α
    df = var**2 / _welch_df_denominator(t, c, counts)
    naive_p = 2 * sps.t.sf(np.abs(est / np.sqrt(var)), df)
    naive_fpr = float((naive_p < ALPHA).any(axis=1).mean())
    assert naive_fpr > 2 * ALPHA, f"naive peeking only reached {naive_fpr:.3f}; the simulation would not detect inflation"


def _welch_df_denominator(t, c, counts):
    def var_over_n(x):
        s1 = np.cumsum(x, axis=1)[:, counts - 1]
        s2 = np.cumsum(x * x, axis=1)[:, counts - 1]
        return (s2 - s1**2 / counts) / (counts - 1) / counts

    a, b = var_over_n(t), var_over_n(c)
    return a**2 / (counts - 1) + b**2 / (counts - 1)


@pytest.mark.parametrize("tau_in_sd", [0.3, 1.0])
def test_msprt_burn_in_keeps_early_daily_looks_valid(tau_in_sd):
    """Looks from the burn-in on, growing by 2 per arm per day (a slow start), τ up to 1 sd."""
    rng = np.random.default_rng(12)
    counts = sequential.MSPRT_MIN_PER_ARM + 2 * np.arange(30)
    t = _mood_shift_outcomes(rng, (N_EXPERIMENTS, counts[-1]))
    c = _mood_shift_outcomes(rng, (N_EXPERIMENTS, counts[-1]))
    est, var = _cumulative_estimates(t, c, counts)
    tau = tau_in_sd * float(np.concatenate([t.ravel(), c.ravel()]).std())
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-sequential.msprt_log_lambda(est, var, tau=tau))), axis=1)
    fpr = float((p[:, -1] <= ALPHA).mean())
    assert fpr <= ALPHA, f"false-positive rate {fpr:.4f} > α with the burn-in"
    if tau_in_sd == 1.0:
        # why the burn-in exists: looking from 2 per arm on breaks the guarantee in this same setting
        early = 2 + 2 * np.arange(30)
        est2, var2 = _cumulative_estimates(t, c, early)
        p2 = np.minimum.accumulate(np.minimum(1.0, np.exp(-sequential.msprt_log_lambda(est2, var2, tau=tau))), axis=1)
        assert float((p2[:, -1] <= ALPHA).mean()) > ALPHA


def test_msprt_detects_a_real_effect():
    rng = np.random.default_rng(8)
    per_day, days = 20, 30
    counts = per_day * np.arange(1, days + 1)
    sd = _mood_shift_outcomes(rng, 100_000).std()
    t = _mood_shift_outcomes(rng, (500, per_day * days), effect=0.3 * sd)
    c = _mood_shift_outcomes(rng, (500, per_day * days))
    est, var = _cumulative_estimates(t, c, counts)
    p = np.minimum.accumulate(np.minimum(1.0, np.exp(-sequential.msprt_log_lambda(est, var, tau=0.3 * sd))), axis=1)
    assert (p[:, -1] <= ALPHA).mean() > 0.9


# ---------------------------------------------------------------------------------------------
# power


@pytest.mark.parametrize("mde, ratio", [(0.5, 1.0), (0.3, 2.0)])
def test_simulated_power_at_planned_n_matches_calculation(mde, ratio):
    plan = power.sample_size_two_sample(mde=mde, alpha=ALPHA, power=0.8, ratio=ratio)
    rng = np.random.default_rng(int(mde * 100) + int(ratio))
    c = rng.normal(0.0, 1.0, (N_EXPERIMENTS, plan.n_control))
    t = rng.normal(mde, 1.0, (N_EXPERIMENTS, plan.n_treatment))
    simulated = float((hypothesis.welch_p_values(t, c) < ALPHA).mean())
    assert abs(simulated - plan.achieved_power) <= 0.05, (simulated, plan.achieved_power)
    # and the plan agrees with statsmodels
    n_sm = TTestIndPower().solve_power(effect_size=mde, alpha=ALPHA, power=0.8, ratio=ratio)
    assert plan.n_control == int(np.ceil(n_sm)) or plan.n_control == int(np.ceil(n_sm)) + 1


def test_power_matches_statsmodels():
    analysis = TTestIndPower()
    for d, n, ratio, alpha in [(0.2, 100, 1.0, 0.05), (0.5, 30, 1.5, 0.01), (0.8, 12, 0.5, 0.1), (0.35, 250, 3.0, 0.05)]:
        ours = power.power_two_sample(effect_size=d, n_control=n, ratio=ratio, alpha=alpha)
        assert ours == pytest.approx(analysis.power(effect_size=d, nobs1=n, alpha=alpha, ratio=ratio), abs=1e-10)
    d = power.minimum_detectable_effect(n_control=80, ratio=1.0, alpha=0.05, power=0.9)
    # statsmodels' solver stops at a looser tolerance than ours; both must give power 0.9
    assert d == pytest.approx(analysis.solve_power(nobs1=80, alpha=0.05, power=0.9, ratio=1.0), rel=1e-5)
    assert analysis.power(effect_size=d, nobs1=80, alpha=0.05, ratio=1.0) == pytest.approx(0.9, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# agreement with scipy / statsmodels


def _datasets():
    rng = np.random.default_rng(99)
    return [
        (rng.normal(0.3, 1.0, 50), rng.normal(0.0, 1.5, 40)),
        (rng.exponential(1.0, 15), rng.exponential(1.4, 200)),
        (_mood_shift_outcomes(rng, 300, effect=0.05), _mood_shift_outcomes(rng, 310)),
        (np.round(rng.normal(3, 1, 25)), np.round(rng.normal(3.5, 1, 30))),  # 1-5 style ratings: many ties
    ]


@pytest.mark.parametrize("data", _datasets())
def test_welch_matches_scipy(data):
    t, c = data
    ours = hypothesis.welch_t_test(t, c, confidence=0.9)
    ref = sps.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(confidence_level=0.9)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours.df == pytest.approx(ref.df, rel=1e-12)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)


@pytest.mark.parametrize("data", _datasets())
def test_summary_interval_matches_scipy(data):
    for arm in data:
        s = hypothesis.summarize(arm)
        ci = sps.ttest_1samp(arm, 0.0).confidence_interval(confidence_level=0.95)
        assert (s.ci_low, s.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
        assert s.sd == pytest.approx(np.std(arm, ddof=1))


@pytest.mark.parametrize("data", _datasets() + [
    (np.array([19.0, 22, 16, 29, 24]), np.array([20.0, 11, 17, 12])),  # scipy docs: exact
    (np.array([1.5, 3.2, 0.1]), np.linspace(-1, 4, 40)),  # one small arm, no ties: exact
])
def test_mann_whitney_matches_scipy(data):
    t, c = data
    ours = hypothesis.mann_whitney_u(t, c)
    ref = sps.mannwhitneyu(t, c, alternative="two-sided", method="auto")
    assert ours.u == pytest.approx(ref.statistic)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("counts", [(45, 60, 30, 55), (480, 1000, 455, 1000), (3, 20, 9, 22), (97, 100, 88, 100)])
def test_proportions_match_statsmodels(counts):
    c1, n1, c2, n2 = counts
    z, p = proportions_ztest([c1, c2], [n1, n2])
    for method, interval in (("newcomb", "newcombe"), ("wald", "wald")):
        ours = hypothesis.two_proportion_z_test(c1, n1, c2, n2, interval=interval)
        assert ours.statistic == pytest.approx(z, rel=1e-12)
        assert ours.p_value == pytest.approx(p, rel=1e-10)
        low, high = confint_proportions_2indep(c1, n1, c2, n2, method=method, compare="diff")
        assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize("data", _datasets())
def test_hedges_g_matches_statsmodels(data):
    t, c = data
    ours = hypothesis.hedges_g(t, c)
    g, var_g = effectsize_smd(t.mean(), t.std(ddof=1), t.size, c.mean(), c.std(ddof=1), c.size)
    assert ours.g == pytest.approx(g, rel=1e-12)
    assert ours.se**2 == pytest.approx(var_g, rel=1e-12)


def test_holm_matches_statsmodels():
    rng = np.random.default_rng(12)
    for m in (1, 2, 3, 5, 8):
        ps = np.concatenate([rng.uniform(0, 0.05, m // 2), rng.uniform(0, 1, m - m // 2)])
        ours = hypothesis.holm(list(ps), alpha=ALPHA)
        reject, adjusted, _, _ = multipletests(ps, alpha=ALPHA, method="holm")
        np.testing.assert_allclose([e.adjusted for e in ours.entries], adjusted, rtol=1e-12)
        assert [e.reject for e in ours.entries] == list(reject)


@pytest.mark.parametrize("observed, weights", [([480, 530, 990], [1, 1, 2]), ([5500, 4500], [1, 1]),
                                               ([101, 99], [1, 1]), ([70, 20, 10], [0.6, 0.3, 0.1])])
def test_srm_chi_square_matches_scipy(observed, weights):
    ours = hypothesis.sample_ratio_mismatch(observed, weights)
    expected = np.sum(observed) * np.asarray(weights, float) / np.sum(weights)
    ref = sps.chisquare(observed, expected)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    assert ours.mismatch == (ref.pvalue < 0.001)


@pytest.mark.parametrize("interval, method", [("percentile", "percentile"), ("bca", "BCa")])
@pytest.mark.parametrize("data", _datasets()[:3])
def test_bootstrap_matches_scipy_within_monte_carlo_error(data, interval, method):
    t, c = data
    ours = hypothesis.bootstrap_mean_diff(t, c, n_resamples=20_000, interval=interval, seed=1)
    ref = sps.bootstrap((t, c), lambda a, b, axis: a.mean(axis) - b.mean(axis), n_resamples=20_000,
                        method=method, vectorized=True, rng=np.random.default_rng(2))
    # two independent 20,000-resample runs: interval ends agree to a small fraction of the SE
    tol = 0.08 * ref.standard_error
    assert abs(ours.ci_low - ref.confidence_interval.low) < tol
    assert abs(ours.ci_high - ref.confidence_interval.high) < tol
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)


def test_cuped_equals_ancova_coefficient_and_reduces_variance():
    rng = np.random.default_rng(21)
    n = 300
    pre = rng.gamma(4.0, 0.25, 2 * n)  # pre-session distance to the target
    arm = np.r_[np.ones(n), np.zeros(n)]
    outcome = 0.6 * pre + 0.1 * arm + rng.normal(0, 0.25, 2 * n)
    ours = hypothesis.cuped_test(outcome[:n], outcome[n:], pre[:n], pre[n:])
    ols = sm.OLS(outcome, sm.add_constant(np.column_stack([arm, pre]))).fit()
    assert ours.effect == pytest.approx(ols.params[1], rel=1e-10)
    assert ours.theta == pytest.approx(ols.params[2], rel=1e-10)
    assert ours.adjusted.se == pytest.approx(ols.bse[1], rel=0.05)
    plain = hypothesis.welch_t_test(outcome[:n], outcome[n:])
    assert ours.adjusted.se**2 == pytest.approx(plain.se**2 * (1 - ours.variance_reduction), rel=0.05)


def test_cuped_aa_false_positive_rate():
    rng = np.random.default_rng(31)
    k, n = 1000, 100
    pre = rng.gamma(4.0, 0.25, (k, 2 * n))
    outcome = 0.6 * pre + rng.normal(0, 0.25, (k, 2 * n))
    rejections = 0
    for i in range(k):
        r = hypothesis.cuped_test(outcome[i, :n], outcome[i, n:], pre[i, :n], pre[i, n:])
        rejections += r.p_value < ALPHA
    assert 0.03 <= rejections / k <= 0.07


# ---------------------------------------------------------------------------------------------
# sample-ratio mismatch


def test_srm_flags_55_45_at_large_n_and_not_50_50():
    rng = np.random.default_rng(41)
    n = 10_000
    assert hypothesis.sample_ratio_mismatch([5500, 4500], [1, 1]).mismatch
    assert not hypothesis.sample_ratio_mismatch([5000, 5000], [1, 1]).mismatch
    # random 50/50 assignment almost never trips the p < 0.001 alarm; a 55/45 leak always does
    fair = rng.binomial(n, 0.5, N_EXPERIMENTS)
    leaky = rng.binomial(n, 0.55, 200)
    fair_flags = sum(hypothesis.sample_ratio_mismatch([a, n - a], [1, 1]).mismatch for a in fair)
    leaky_flags = sum(hypothesis.sample_ratio_mismatch([a, n - a], [1, 1]).mismatch for a in leaky)
    assert fair_flags / N_EXPERIMENTS <= 0.005
    assert leaky_flags == len(leaky)
