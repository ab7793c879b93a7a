"""Unit tests of studies/stats.py on small arrays: known values, conventions, degenerate input.

Agreement with scipy/statsmodels and the simulation checks live in test_stats_validation.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from studies.stats import _common, hypothesis, power, report, sequential


@pytest.fixture
def arms():
    rng = np.random.default_rng(7)
    return rng.normal(0.4, 1.0, 40), rng.normal(0.0, 1.2, 35)


class TestSummary:
    def test_known_values(self):
        s = hypothesis.summarize([1.0, 2.0, 3.0, 4.0], name="random")
        assert s.name == "random"
        assert s.n == 4
        assert s.mean == pytest.approx(2.5)
        assert s.sd == pytest.approx(math.sqrt(5 / 3))
        # t(0.975, 3) = 3.182446305
        half = 3.182446305284263 * math.sqrt(5 / 3) / 2
        assert (s.ci_low, s.ci_high) == pytest.approx((2.5 - half, 2.5 + half))

    def test_zero_variance_is_a_point_interval(self):
        s = hypothesis.summarize([2.0, 2.0, 2.0])
        assert (s.sd, s.ci_low, s.ci_high) == (0.0, 2.0, 2.0)

    def test_frozen(self):
        s = hypothesis.summarize([1.0, 2.0])
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.mean = 3.0  # type: ignore[misc]

    @pytest.mark.parametrize("values, message", [([], "empty"), ([1.0], "at least 2"), ([1.0, np.nan], "NaN")])
    def test_degenerate(self, values, message):
        with pytest.raises(ValueError, match=message):
            hypothesis.summarize(values, name="mapping")

    def test_rejects_2d(self):
        with pytest.raises(ValueError, match="1-D"):
            hypothesis.summarize(np.ones((3, 2)))


class TestWelch:
    def test_direction_is_treatment_minus_control(self):
        r = hypothesis.welch_t_test([3.0, 4.0, 5.0], [1.0, 2.0, 3.0])
        assert r.effect == pytest.approx(2.0)
        assert r.statistic > 0
        assert r.ci_low < 2.0 < r.ci_high
        assert (r.n_treatment, r.n_control) == (3, 3)

    def test_one_arm_constant_is_fine(self):
        r = hypothesis.welch_t_test([1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 0.5])
        assert 0.0 < r.p_value < 1.0
        assert r.df == pytest.approx(3.0)  # all the variance comes from the control arm

    def test_both_arms_constant_raise(self):
        with pytest.raises(_common.InsufficientDataError, match="zero variance"):
            hypothesis.welch_t_test([1.0, 1.0], [2.0, 2.0])

    @pytest.mark.parametrize("t, c", [([], [1.0, 2.0]), ([1.0], [1.0, 2.0]), ([1.0, 2.0], [3.0])])
    def test_too_few(self, t, c):
        with pytest.raises(ValueError):
            hypothesis.welch_t_test(t, c)

    def test_vectorised_p_values_match_scalar(self, arms):
        t, c = arms
        batch = hypothesis.welch_p_values(np.stack([t, t[::-1] + 1]), np.stack([c, c]))
        assert batch[0] == pytest.approx(hypothesis.welch_t_test(t, c).p_value)
        assert batch[1] == pytest.approx(hypothesis.welch_t_test(t[::-1] + 1, c).p_value)


class TestMannWhitney:
    def test_complete_separation_small_sample_is_exact(self):
        r = hypothesis.mann_whitney_u([10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
        assert "exact" in r.method
        assert r.u == 9.0
        assert r.prob_superiority == 1.0
        assert r.rank_biserial == 1.0
        assert r.p_value == pytest.approx(2 / 20)  # 1 of C(6,3) orderings, two-sided

    def test_ties_use_normal_approximation(self):
        r = hypothesis.mann_whitney_u([1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 3.0, 4.0])
        assert "normal" in r.method
        assert 0 < r.p_value < 1

    def test_all_identical_raises(self):
        with pytest.raises(_common.InsufficientDataError, match="identical"):
            hypothesis.mann_whitney_u([1.0] * 10, [1.0] * 10)

    def test_empty_arm(self):
        with pytest.raises(_common.InsufficientDataError, match="empty"):
            hypothesis.mann_whitney_u([], [1.0])


class TestBootstrap:
    def test_seeded_is_reproducible_and_seed_matters(self, arms):
        t, c = arms
        a = hypothesis.bootstrap_mean_diff(t, c, n_resamples=2000, seed=1)
        b = hypothesis.bootstrap_mean_diff(t, c, n_resamples=2000, seed=1)
        d = hypothesis.bootstrap_mean_diff(t, c, n_resamples=2000, seed=2)
        assert a == b
        assert (a.ci_low, a.ci_high) != (d.ci_low, d.ci_high)

    def test_interval_covers_observed_and_is_close_to_welch(self, arms):
        t, c = arms
        b = hypothesis.bootstrap_mean_diff(t, c, n_resamples=5000)
        w = hypothesis.welch_t_test(t, c)
        assert b.ci_low < b.effect < b.ci_high
        assert b.effect == pytest.approx(w.effect)
        assert b.se == pytest.approx(w.se, rel=0.1)

    def test_batches_give_same_answer(self, arms):
        t, c = arms
        rng = np.random.default_rng(5)
        small = hypothesis._boot_means(t, 300, np.random.default_rng(5), max_cells=t.size * 7)
        whole = hypothesis._boot_means(t, 300, rng)
        assert np.allclose(small, whole)

    def test_bad_arguments(self, arms):
        t, c = arms
        with pytest.raises(ValueError, match="interval"):
            hypothesis.bootstrap_mean_diff(t, c, interval="studentized")
        with pytest.raises(ValueError, match="n_resamples"):
            hypothesis.bootstrap_mean_diff(t, c, n_resamples=10)
        with pytest.raises(_common.InsufficientDataError, match="identical"):
            hypothesis.bootstrap_mean_diff([1.0, 1.0], [2.0, 2.0])


class TestHedgesG:
    def test_borenstein_example(self):
        # Borenstein et al. (2009), Introduction to Meta-Analysis, ch. 4: means 103 vs 100, sd 5.5 and 4.5,
        # n = 50 each -> d = 0.5970, J = 0.9923, g = 0.5924, var(g) ≈ 0.041.
        rng = np.random.default_rng(0)

        def exact(mean, sd, n):
            z = rng.normal(size=n)
            z = (z - z.mean()) / z.std(ddof=1)
            return mean + sd * z

        g = hypothesis.hedges_g(exact(103, 5.5, 50), exact(100, 4.5, 50))
        assert g.cohens_d == pytest.approx(0.5970, abs=1e-4)
        assert g.g == pytest.approx(0.5924, abs=1e-4)
        assert g.se**2 == pytest.approx(0.0411, abs=1e-3)
        assert g.ci_low < g.g < g.ci_high

    def test_zero_pooled_sd(self):
        with pytest.raises(_common.InsufficientDataError, match="zero"):
            hypothesis.hedges_g([1.0, 1.0], [2.0, 2.0])


class TestProportions:
    def test_known_z(self):
        # 45/60 vs 30/55: pooled p = 75/115
        r = hypothesis.two_proportion_z_test(45, 60, 30, 55)
        p = 75 / 115
        z = (45 / 60 - 30 / 55) / math.sqrt(p * (1 - p) * (1 / 60 + 1 / 55))
        assert r.statistic == pytest.approx(z)
        assert r.effect == pytest.approx(45 / 60 - 30 / 55)
        assert r.ci_low < r.effect < r.ci_high
        assert r.interval == "Newcombe"

    @pytest.mark.parametrize(
        "args, error",
        [
            ((0, 0, 1, 5), _common.InsufficientDataError),
            ((6, 5, 1, 5), ValueError),
            ((0, 5, 0, 7), _common.InsufficientDataError),
            ((5, 5, 7, 7), _common.InsufficientDataError),
            ((1.5, 5, 1, 5), ValueError),
        ],
    )
    def test_degenerate(self, args, error):
        with pytest.raises(error):
            hypothesis.two_proportion_z_test(*args)


class TestCuped:
    def test_reduces_variance_and_keeps_effect(self):
        rng = np.random.default_rng(11)
        n = 400
        pre = rng.normal(0, 1, 2 * n)
        outcome = 0.8 * pre + rng.normal(0, 0.5, 2 * n)
        outcome[:n] += 0.2
        r = hypothesis.cuped_test(outcome[:n], outcome[n:], pre[:n], pre[n:])
        plain = hypothesis.welch_t_test(outcome[:n], outcome[n:])
        assert r.theta == pytest.approx(0.8, abs=0.05)
        assert r.variance_reduction == pytest.approx(0.8**2 / (0.8**2 + 0.25), abs=0.05)
        assert r.adjusted.se < 0.7 * plain.se
        assert r.ci_low < 0.2 < r.ci_high
        assert r.unadjusted_effect == pytest.approx(plain.effect)

    def test_constant_covariate_raises(self):
        with pytest.raises(_common.InsufficientDataError, match="covariate is constant"):
            hypothesis.cuped_test([1.0, 2.0, 3.0], [1.0, 2.0], [5.0, 5.0, 5.0], [5.0, 5.0])

    def test_length_mismatch(self):
        with pytest.raises(ValueError, match="one pre-session covariate"):
            hypothesis.cuped_test([1.0, 2.0, 3.0], [1.0, 2.0], [1.0, 2.0], [5.0, 4.0])


class TestSrm:
    def test_balanced_passes_and_skewed_flags(self):
        assert not hypothesis.sample_ratio_mismatch([5010, 4990], [1, 1]).mismatch
        flagged = hypothesis.sample_ratio_mismatch([5500, 4500], [1, 1])
        assert flagged.mismatch
        assert "mismatch" in flagged.status and "no sample" not in flagged.status

    def test_weights_are_respected(self):
        assert not hypothesis.sample_ratio_mismatch([2000, 1000], [2, 1]).mismatch
        assert hypothesis.sample_ratio_mismatch([1500, 1500], [2, 1]).mismatch

    @pytest.mark.parametrize(
        "observed, weights", [([10], [1]), ([10, 10], [1]), ([10, 10], [1, 0]), ([-1, 10], [1, 1]), ([0, 0], [1, 1])]
    )
    def test_bad_input(self, observed, weights):
        with pytest.raises(ValueError):
            hypothesis.sample_ratio_mismatch(observed, weights)


class TestHolm:
    def test_step_down(self):
        r = hypothesis.holm({"completion": 0.01, "skips": 0.04, "reflection": 0.03})
        assert r["completion"].adjusted == pytest.approx(0.03)
        assert r["reflection"].adjusted == pytest.approx(0.06)
        assert r["skips"].adjusted == pytest.approx(0.06)  # monotone: max(0.04, 0.06)
        assert [e.reject for e in r.entries] == [True, False, False]

    def test_bad(self):
        with pytest.raises(ValueError):
            hypothesis.holm([])
        with pytest.raises(ValueError):
            hypothesis.holm([0.2, 1.5])
        with pytest.raises(KeyError):
            hypothesis.holm({"a": 0.1})["b"]


class TestPower:
    def test_textbook_sample_size(self):
        # d = 0.5, α = 0.05, power 0.8 -> 64 per group (Cohen 1988, Table 2.4.1)
        plan = power.sample_size_two_sample(mde=0.5)
        assert (plan.n_control, plan.n_treatment, plan.total) == (64, 64, 128)
        assert plan.achieved_power >= 0.8

    def test_raw_mde_with_sd(self):
        assert power.sample_size_two_sample(mde=0.1, sd=0.2).n_control == 64

    def test_mde_inverts_power(self):
        d = power.minimum_detectable_effect(n_control=64)
        assert power.power_two_sample(effect_size=d, n_control=64) == pytest.approx(0.8, abs=1e-6)

    def test_weighted_plan(self):
        plan = power.plan_experiment(weights=[1, 1, 2], mde=0.5)
        assert plan.n_per_variant == (64, 64, 128)
        assert plan.total == 256

    @pytest.mark.parametrize("kwargs", [{"mde": 0}, {"mde": 0.5, "sd": 0}, {"mde": 0.5, "power": 0.01},
                                        {"mde": 0.5, "alpha": 1.5}, {"mde": 0.5, "ratio": -1}])
    def test_bad(self, kwargs):
        with pytest.raises(ValueError):
            power.sample_size_two_sample(**kwargs)


class TestSequential:
    def test_looks_and_consistency_of_p_and_interval(self):
        rng = np.random.default_rng(3)
        t, c = rng.normal(0.5, 1, 300), rng.normal(0, 1, 300)
        looks = [(k, k) for k in range(20, 301, 20)]
        r = sequential.msprt(t, c, looks=looks, tau=0.5)
        assert len(r.looks) == len(looks)
        ps = [lk.p_value for lk in r.looks]
        assert ps == sorted(ps, reverse=True)  # always-valid p never increases
        lows = [lk.ci_low for lk in r.looks]
        highs = [lk.ci_high for lk in r.looks]
        assert lows == sorted(lows) and highs == sorted(highs, reverse=True)
        for lk in r.looks:  # p ≤ α exactly when 0 has left the confidence sequence
            assert lk.rejected == (not lk.ci_low < 0 < lk.ci_high)
            # and 1/Λ ≤ α at a look exactly when the estimate is beyond that look's boundary
            assert (abs(lk.estimate) >= lk.boundary) == (lk.log_lambda >= math.log(1 / 0.05))
        assert any(abs(lk.estimate) >= lk.boundary for lk in r.looks)
        assert r.rejected and r.first_rejection is not None
        assert r.looks[-1].estimate == pytest.approx(t.mean() - c.mean())
        assert report.verdict(r).reject

    def test_estimates_match_direct_computation(self):
        rng = np.random.default_rng(4)
        t, c = rng.normal(size=50), rng.normal(size=60)
        with pytest.raises(_common.InsufficientDataError, match="at least 10"):
            sequential.msprt(t, c, looks=[(5, 12), (50, 60)], tau=0.3)
        r = sequential.msprt(t, c, looks=[(10, 12), (50, 60)], tau=0.3)
        assert sequential.msprt(t, c, looks=[(5, 5), (50, 60)], tau=0.3, min_per_arm=5).looks[1] == r.looks[1]
        first = r.looks[0]
        assert first.estimate == pytest.approx(t[:10].mean() - c[:12].mean())
        assert first.se == pytest.approx(math.sqrt(t[:10].var(ddof=1) / 10 + c[:12].var(ddof=1) / 12))

    def test_looks_from_times(self):
        looks = sequential.looks_from_times([1, 2, 3, 5, 8], [1, 1, 4, 9], [2, 4, 6, 10], min_per_arm=2)
        assert looks == [(2, 2), (3, 3), (4, 3), (5, 4)]
        with pytest.raises(ValueError, match="sorted"):
            sequential.looks_from_times([3, 1], [1, 2], [5])

    @pytest.mark.parametrize(
        "looks, message",
        [([], "non-empty"), ([(9, 15)], "at least 10"), ([(12, 12), (10, 14)], "time order"), ([(40, 10)], "more outcomes")],
    )
    def test_bad_looks(self, looks, message):
        with pytest.raises(ValueError, match=message):
            sequential.msprt(np.arange(30.0), np.arange(30.0), looks=looks, tau=1.0)

    def test_bad_tau(self):
        with pytest.raises(ValueError, match="tau"):
            sequential.msprt(np.arange(30.0), np.arange(30.0), looks=[(10, 10)], tau=0)


class TestVerdict:
    def test_reject_wording(self):
        r = hypothesis.welch_t_test(np.arange(20.0) + 10, np.arange(20.0))
        v = report.verdict(r, alpha=0.05)
        assert v.reject
        assert v.decision == "reject H0 at α = 0.05"
        assert "95% CI" in v.sentence and "Welch t-test" in v.sentence and "p < 0.0001" in v.sentence
        assert v.effect == pytest.approx(10.0)

    def test_not_enough_evidence_wording(self):
        r = hypothesis.welch_t_test([1.0, 2.0, 3.0], [1.5, 2.5, 2.0])
        v = report.verdict(r, alpha=0.01)
        assert not v.reject
        assert v.decision == "not enough evidence to reject H0 at α = 0.01"
        assert str(v).endswith("not enough evidence to reject H0 at α = 0.01.")

    def test_works_for_cuped_and_proportions(self):
        v = report.verdict(hypothesis.two_proportion_z_test(90, 100, 50, 100), effect_label="completion rate difference")
        assert v.reject and v.sentence.startswith("completion rate difference = 0.4")


class TestAnalyzeExperiment:
    @staticmethod
    def _arm(rng, name, n, shift, *, weight=1.0, with_cov=True, completed_share=0.8):
        pre = rng.gamma(4.0, 0.25, n)
        outcome = 0.6 * pre + shift + rng.normal(0, 0.3, n)
        return report.ArmData(
            name=name, outcomes=outcome, weight=weight, covariates=pre if with_cov else None,
            sessions=n + 10, completed=int(round(completed_share * (n + 10))),
            secondary={"skip rate": rng.beta(2, 5, n), "reflection rating": rng.integers(1, 6, n).astype(float)},
            times=np.sort(rng.uniform(0, 30, n)),
        )

    def test_full_report(self):
        rng = np.random.default_rng(5)
        control = self._arm(rng, "random", 200, 0.0)
        mapping = self._arm(rng, "mapping", 200, 0.25, completed_share=0.9)
        modulate = self._arm(rng, "modulate", 200, 0.0)
        a = report.analyze_experiment(control=control, treatments=[mapping, modulate], look_times=range(1, 31),
                                  tau=0.2, n_resamples=1000)
        assert [r.name for r in a.arms] == ["random", "mapping", "modulate"]
        assert a.arms[0].summary.n == 200 and a.arms[1].completion_rate == pytest.approx(189 / 210)
        assert a.srm is not None and not a.srm.mismatch
        first, second = a.comparisons
        assert isinstance(first.primary, hypothesis.CupedResult)
        assert first.primary.adjusted.se < first.welch.se
        # primary p-values are Holm-adjusted across the two treatments before the verdict
        h = hypothesis.holm([first.primary.p_value, second.primary.p_value])
        assert first.verdict.p_value == pytest.approx(h.entries[0].adjusted)
        assert "Holm over 2 treatments" in first.verdict.method
        assert first.verdict.reject and not second.verdict.reject
        names = [s.name for s in first.secondary]
        assert names == ["completion rate", "skip rate", "reflection rating"]
        sec = hypothesis.holm({s.name: s.p_value for s in first.secondary})
        assert [s.adjusted_p_value for s in first.secondary] == [e.adjusted for e in sec.entries]
        assert first.sequential is not None and len(first.sequential.looks) >= 25
        assert first.mann_whitney is not None and first.bootstrap is not None and first.hedges_g is not None
        assert first.notes == () and a.notes == ()

    def test_single_treatment_without_covariates_uses_welch_unadjusted(self):
        rng = np.random.default_rng(6)
        control = self._arm(rng, "random", 50, 0.0, with_cov=False)
        mapping = self._arm(rng, "mapping", 50, 0.1)
        (c,) = report.analyze_experiment(control=control, treatments=[mapping], n_resamples=500).comparisons
        assert isinstance(c.primary, hypothesis.WelchResult) and c.cuped is None
        assert c.verdict.p_value == c.primary.p_value
        assert "Holm" not in c.verdict.method
        assert c.sequential is None

    def test_degenerate_arms_give_notes_not_crashes(self):
        control = report.ArmData(name="random", outcomes=np.array([0.1, 0.2, 0.3]), sessions=3, completed=3)
        lonely = report.ArmData(name="mapping", outcomes=np.array([0.5]), sessions=1, completed=1)
        a = report.analyze_experiment(control=control, treatments=[lonely], n_resamples=500)
        assert a.arms[1].summary is None
        assert any("summary of mapping" in n and "at least 2" in n for n in a.notes)
        (c,) = a.comparisons
        assert c.primary is None and c.verdict is None and c.welch is None
        assert any(n.startswith("Welch t-test:") for n in c.notes)
        assert any(n.startswith("completion rate:") and "100%" in n for n in c.notes)
        assert c.mann_whitney is not None  # ranks work with one observation

    def test_bad_arguments(self):
        arm = report.ArmData(name="a", outcomes=np.array([1.0, 2.0]))
        with pytest.raises(ValueError, match="at least one treatment"):
            report.analyze_experiment(control=arm, treatments=[])
        with pytest.raises(ValueError, match="unique"):
            report.analyze_experiment(control=arm, treatments=[arm])
        clash = report.ArmData(name="b", outcomes=np.array([1.0, 2.0]), secondary={"completion rate": np.ones(2)})
        with pytest.raises(ValueError, match="completion rate"):
            report.analyze_experiment(control=arm, treatments=[clash])
