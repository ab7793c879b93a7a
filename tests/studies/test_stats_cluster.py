"""Participant-clustered statistics (studies/stats/cluster.py): agreement with statsmodels and scipy
on the same data, closed forms, and degenerate input that must be refused with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps

from studies.stats import _common, hypothesis, power, report, sequential
from studies.stats import cluster as cl


def _data(seed=1, G=40, icc=0.4):
    rng = np.random.default_rng(seed)
    m = rng.integers(1, 8, G)
    g = np.repeat(np.arange(G), m)
    arm = (np.arange(G) % 5 < 2)[g]  # 40 % treatment: unequal arms
    u = rng.normal(0, np.sqrt(icc), G)[g]
    x = rng.normal(size=g.size) + u
    y = 0.3 * arm + u + 0.5 * x + rng.normal(size=g.size)
    return y, x, g, arm


@pytest.mark.parametrize(("use_correction", "ours"), [(True, "CR1"), (False, "CR0")])
def test_cluster_robust_ols_equals_statsmodels_cluster_fit(use_correction, ours):
    y, x, g, arm = _data()
    X = np.column_stack([np.ones_like(y), arm.astype(float), x])
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g, "use_correction": use_correction},
                           use_t=True)
    mine = cl.cluster_robust_ols(y, X, g, correction=ours)
    np.testing.assert_allclose(mine.coef, ref.params, rtol=1e-12)
    np.testing.assert_allclose(mine.vcov, ref.cov_params(), rtol=1e-10)
    # statsmodels uses t with G − 1 df for clustered fits, as we do
    p = 2 * sps.t.sf(np.abs(mine.coef / mine.se), mine.df)
    np.testing.assert_allclose(p, ref.pvalues, rtol=1e-8)


def test_cr2_differs_from_cr1_and_is_larger_than_cr0():
    y, x, g, arm = _data(seed=2, G=12)
    X = np.column_stack([np.ones_like(y), arm.astype(float), x])
    se = {c: cl.cluster_robust_ols(y, X, g, correction=c).se[1] for c in cl.CORRECTIONS}
    assert se["CR2"] > se["CR0"]
    assert se["CR2"] != pytest.approx(se["CR1"], rel=1e-6)


def test_cr2_is_unbiased_for_iid_errors_where_cr0_is_not():
    # With independent homoscedastic errors E[V_CR2] equals the true variance (Bell–McCaffrey).
    rng = np.random.default_rng(5)
    G, m = 10, 3
    g = np.repeat(np.arange(G), m)
    X = np.column_stack([np.ones(G * m), (np.arange(G) < 4)[g].astype(float)])
    true = np.linalg.inv(X.T @ X)[1, 1]
    v2, v0 = [], []
    for _ in range(3000):
        y = rng.normal(size=G * m)
        v2.append(cl.cluster_robust_ols(y, X, g, correction="CR2").vcov[1, 1])
        v0.append(cl.cluster_robust_ols(y, X, g, correction="CR0").vcov[1, 1])
    assert np.mean(v2) == pytest.approx(true, rel=0.05)
    assert np.mean(v0) < 0.9 * true


def test_clustered_difference_equals_the_regression_and_counts_participants():
    y, _, g, arm = _data(seed=3)
    res = cl.clustered_difference(y, g, arm)
    fit = cl.cluster_robust_ols(y, np.column_stack([np.ones_like(y), arm.astype(float)]), g)
    assert res.effect == pytest.approx(y[arm].mean() - y[~arm].mean())
    assert res.effect == pytest.approx(fit.coef[1]) and res.se == pytest.approx(fit.se[1])
    assert res.df == 39 and res.participants_treatment == 16 and res.participants_control == 24
    assert res.sessions_treatment == int(arm.sum())
    assert "CR2" in res.method


def test_clustered_cuped_uses_lin_with_unequal_arms_and_reports_realised_reduction():
    y, x, g, arm = _data(seed=4)
    res = cl.clustered_cuped(y, x, g, arm)
    assert res.interacted
    xc = x - x.mean()
    a = arm.astype(float)
    fit = cl.cluster_robust_ols(y, np.column_stack([np.ones_like(y), a, xc, a * xc]), g)
    assert res.effect == pytest.approx(fit.coef[1]) and res.se == pytest.approx(fit.se[1])
    assert res.variance_reduction == pytest.approx(1 - res.se**2 / res.unadjusted_se**2)
    assert res.variance_reduction > 0.1
    common = cl.clustered_cuped(y, x, g, arm, interacted=False)
    assert not common.interacted and common.effect != pytest.approx(res.effect, rel=1e-9)


def test_rank_test_on_participant_means_equals_scipy():
    y, _, g, arm = _data(seed=6)
    res = cl.participant_rank_test(y, g, arm)
    _, means = cl.participant_means(y, g)
    tr = np.zeros(means.size, bool)
    tr[g[arm]] = True
    ref = sps.mannwhitneyu(means[tr], means[~tr], alternative="two-sided")
    assert res.u == pytest.approx(ref.statistic) and res.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert res.n_treatment == 16 and "participant means" in res.method


def test_clustered_proportions_is_the_difference_in_completion_rates():
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(30), 4)
    arm = (np.arange(30) < 15)[g]
    done = (rng.random(g.size) < np.where(arm, 0.8, 0.6)).astype(float)
    res = cl.clustered_proportions(done, g, arm)
    assert res.effect == pytest.approx(done[arm].mean() - done[~arm].mean())
    assert "proportions" in res.method
    with pytest.raises(ValueError, match="0/1"):
        cl.clustered_proportions(done * 2, g, arm)
    with pytest.raises(_common.InsufficientDataError, match="no variation"):
        cl.clustered_proportions(np.ones_like(done), g, arm)


def test_cluster_bootstrap_resamples_participants():
    y, _, g, arm = _data(seed=8, icc=0.6)
    boot = cl.cluster_bootstrap(y, g, arm, n_resamples=4000, seed=1)
    res = cl.clustered_difference(y, g, arm)
    assert boot.effect == pytest.approx(res.effect)
    assert boot.se == pytest.approx(res.se, rel=0.2)  # agrees with CR2, not with the session count
    assert boot.ci_low < res.effect < boot.ci_high
    again = cl.cluster_bootstrap(y, g, arm, n_resamples=4000, seed=1)
    assert (again.ci_low, again.ci_high) == (boot.ci_low, boot.ci_high)


def test_observed_icc_recovers_the_simulated_icc_and_effective_n():
    rng = np.random.default_rng(9)
    G = 400
    m = rng.integers(1, 11, G)
    g = np.repeat(np.arange(G), m)
    y = rng.normal(0, np.sqrt(0.3), G)[g] + rng.normal(0, np.sqrt(0.7), g.size)
    res = cl.observed_icc(y, g)
    assert res.icc == pytest.approx(0.3, abs=0.05)
    m_bar = (m**2).sum() / m.sum()
    assert res.mean_cluster_size == pytest.approx(m_bar)
    assert res.effective_n == pytest.approx(g.size / (1 + (m_bar - 1) * res.icc))
    one = cl.observed_icc(rng.normal(size=50), np.arange(50))
    assert one.icc == 0.0 and one.effective_n == 50 and not one.identified  # the page says "not estimable"
    assert res.identified


@pytest.mark.parametrize(
    ("y", "g", "arm", "message"),
    [
        (np.arange(6.0), [0, 0, 1, 1, 2, 2], [True] * 6, "one arm"),
        (np.arange(6.0), [0] * 6, [True, True, True, False, False, False], "both arms"),
        (np.arange(6.0), [0, 0, 0, 1, 2, 2], [True, True, True, False, False, False], "at least two participants"),
    ],
)
def test_degenerate_designs_are_refused_with_a_message(y, g, arm, message):
    with pytest.raises(ValueError, match=message):
        cl.clustered_difference(y, np.asarray(g), np.asarray(arm))


def test_one_participant_only_is_refused():
    with pytest.raises(_common.InsufficientDataError, match="at least two"):
        cl.cluster_robust_ols(np.arange(5.0), np.ones((5, 1)), np.zeros(5))


def test_design_effect_and_participant_plan():
    assert power.design_effect(icc=0.3, sessions_per_participant=5) == pytest.approx(2.2)
    assert power.design_effect(icc=0.0, sessions_per_participant=7) == 1.0
    plan = power.plan_participants(weights=[1, 1], mde=0.3, sd=1.0, icc=0.3, sessions_per_participant=5)
    base = power.plan_experiment(weights=[1, 1], mde=0.3, sd=1.0)
    assert plan.participants_per_variant[0] == int(np.ceil(base.n_per_variant[0] * 2.2 / 5))
    assert plan.sessions_per_variant[0] == plan.participants_per_variant[0] * 5
    for bad in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            power.design_effect(icc=bad, sessions_per_participant=3)


def test_holm_rejects_exactly_at_the_boundary_despite_rounding():
    p = 0.05 / 11
    assert 11 * p > 0.05  # rounding would flip the decision without the tolerance
    res = hypothesis.holm([p] * 11, alpha=0.05)
    assert all(e.reject for e in res.entries)
    assert not any(e.reject for e in hypothesis.holm([0.00455] * 11, alpha=0.05).entries)
    assert report.verdict(cl.clustered_difference(*_data()[0:1], _data()[2], _data()[3]), alpha=0.05,
                      adjusted_p_value=11 * p).reject


def test_p_values_never_display_as_zero():
    assert _common._fmt_p(1e-9) == "p < 0.0001"
    assert _common._fmt_p(0.00012) == "p = 0.0001"


def test_clustered_msprt_counts_participants_and_burn_in():
    rng = np.random.default_rng(11)
    G = 60
    m = rng.integers(1, 6, G)
    g = np.repeat(np.arange(G), m)
    arm = (np.arange(G) % 2 == 0)[g]
    times = np.repeat(np.arange(G, dtype=float), m) + np.concatenate([np.arange(k) * 0.1 for k in m])
    y = rng.normal(size=g.size) + 0.8 * arm
    res = sequential.msprt_clustered(y, g, arm, times, look_times=np.arange(5, G + 5, 5), tau=0.5)
    first = res.looks[0]
    assert first.n_treatment >= sequential.MSPRT_MIN_PARTICIPANTS_PER_ARM and first.n_control >= 10
    assert res.looks[-1].n_treatment == 30 and res.looks[-1].sessions_treatment == int(arm.sum())
    final = cl.clustered_difference(y, g, arm)
    assert res.looks[-1].estimate == pytest.approx(final.effect) and res.looks[-1].se == pytest.approx(final.se)
    assert res.rejected
    with pytest.raises(_common.InsufficientDataError, match="participants in each arm"):
        sequential.msprt_clustered(y, g, arm, times, look_times=[3.0], tau=0.5)


def test_latin_square_is_balanced():
    for k in (2, 3, 4, 5):
        orders = cl.latin_square_orders(k)
        arr = np.asarray(orders)
        for pos in range(k):  # every condition equally often in every position
            assert len(set(np.bincount(arr[:, pos], minlength=k))) == 1
        pairs = {}
        for row in orders:  # every ordered pair of neighbours equally often (carry-over balance)
            for a, b in zip(row, row[1:], strict=False):
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
        assert len(pairs) == k * (k - 1) and len(set(pairs.values())) == 1
    with pytest.raises(ValueError, match="two conditions"):
        cl.latin_square_orders(1)


def test_paired_crossover_separates_period_from_treatment():
    first = np.arange(20) % 2 == 0
    # treatment adds 1.0, the second period adds 0.4: T first -> d = 1 − 0.4, C first -> d = 1 + 0.4
    noise = np.random.default_rng(12).normal(0, 0.1, 20)
    yt = 1.0 + np.where(first, 0.0, 0.4) + noise
    yc = np.where(first, 0.4, 0.0)
    res = cl.paired_crossover(yt, yc, first)
    assert res.effect == pytest.approx(1.0, abs=0.06)
    assert res.period_effect == pytest.approx(0.4, abs=0.06) and res.period_p_value < 0.001
    with pytest.raises(_common.InsufficientDataError, match="order groups"):
        cl.paired_crossover(yt[:3], yc[:3], np.array([True, True, False]))
