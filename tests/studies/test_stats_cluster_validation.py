"""Validation of the participant-clustered statistics (issue 10): simulations that could fail.

Realistic structure: 100 participants per experiment, each taking 1–10 sessions, a participant
effect with intra-class correlation 0, 0.3 or 0.6, sticky assignment per participant, unequal
arms. All simulations are seeded and vectorised (one padded array of shape
(experiments, participants, sessions) per setting), so they take a few seconds in total.

- A/A, fixed horizon: the CR2 difference in means (the headline test without covariates) and the
  Lin/CUPED regression (the headline test with them) reject in [4 %, 6 %] at α = 0.05, while the
  session-level Welch test on the same data rejects far more (the simulation can see inflation).
- A/A under 30 daily looks: the clustered mSPRT rejects at most α of the experiments.
- Power at the planned number of participants is within 5 points of the plan (ICC 0.3).
- Crossover: A/A false-positive rate in [4 %, 6 %]; a simulated effect, with a period drift, is
  recovered with nominal coverage.
- The results page's own path (stats.analyze_experiment with participant ids) decides exactly as
  the validated vectorised test, experiment by experiment.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from studies.stats import cluster as cl
from studies.stats import hypothesis, power, report
from studies.stats.sequential import MSPRT_MIN_PARTICIPANTS_PER_ARM, msprt_log_lambda

ALPHA = 0.05
N_EXPERIMENTS = 4000  # at least the 2,000 the issue asks for: halves the chance spread of the rate
PARTICIPANTS = 100
MAX_SESSIONS = 10


def _clustered_outcomes(rng, *, experiments: int, participants: int, icc: float, effect: float = 0.0,
                        treat_share: float = 0.5, lo: int = 1, hi: int = MAX_SESSIONS):
    """Padded outcomes (E, P, M), validity mask, per-participant treatment flag (E, P).

    y = u_i + e_ij, Var(u) = ICC, Var(e) = 1 − ICC (total variance 1); the session noise is
    skewed (a centred gamma) like a bounded mood-shift score, the participant effect normal.
    """
    shape = (experiments, participants)
    sessions = rng.integers(lo, hi + 1, size=shape)
    valid = np.arange(hi)[None, None, :] < sessions[..., None]
    treat = rng.random(shape) < treat_share
    u = rng.normal(0.0, np.sqrt(icc), size=shape)
    noise = (rng.gamma(4.0, 0.5, size=(*shape, hi)) - 2.0) / 1.0  # mean 0, variance 1
    y = u[..., None] + np.sqrt(1.0 - icc) * noise + effect * treat[..., None]
    return np.where(valid, y, 0.0), valid, treat


def _cr2_p_values(y, valid, treat):
    sums = y.sum(axis=-1)
    counts = valid.sum(axis=-1)
    effect, var, g = cl.clustered_difference_arrays(sums, counts, treat)
    t = effect / np.sqrt(var)
    return 2.0 * sps.t.sf(np.abs(t), g - 1), effect, var, g


def _session_welch_p(y, valid, treat):
    """The old, session-level Welch test on the same data (sessions treated as independent)."""
    arm = np.broadcast_to(treat[..., None], y.shape)
    out = []
    for mask in (valid & arm, valid & ~arm):
        n = mask.sum(axis=(1, 2))
        m = np.where(mask, y, 0.0).sum(axis=(1, 2)) / n
        v = np.where(mask, (y - m[:, None, None]) ** 2, 0.0).sum(axis=(1, 2)) / (n - 1)
        out.append((m, v, n))
    (m1, v1, n1), (m2, v2, n2) = out
    _, _, t, df = hypothesis._welch_from_moments(m1, v1, n1, m2, v2, n2)
    return 2.0 * sps.t.sf(np.abs(t), df)


@pytest.mark.parametrize("icc", [0.0, 0.3, 0.6])
def test_aa_fixed_horizon_fpr_is_nominal_with_repeated_sessions(icc):
    rng = np.random.default_rng(int(icc * 10) + 1010)
    y, valid, treat = _clustered_outcomes(rng, experiments=N_EXPERIMENTS, participants=PARTICIPANTS, icc=icc,
                                          treat_share=0.6)
    p, *_ = _cr2_p_values(y, valid, treat)
    fpr = float((p < ALPHA).mean())
    assert 0.04 <= fpr <= 0.06, f"ICC {icc}: clustered A/A false-positive rate {fpr:.4f} outside [0.04, 0.06]"
    if icc >= 0.3:  # the degenerate analysis must score badly on the same data
        naive = float((_session_welch_p(y, valid, treat) < ALPHA).mean())
        assert naive > 0.12, f"ICC {icc}: session-level Welch FPR {naive:.3f}; the simulation misses clustering"


def test_vectorised_cr2_equals_the_general_regression_on_one_experiment():
    rng = np.random.default_rng(3)
    y, valid, treat = _clustered_outcomes(rng, experiments=1, participants=30, icc=0.3)
    _, effect, var, _ = _cr2_p_values(y, valid, treat)
    rows = np.argwhere(valid[0])
    values = y[0][valid[0]]
    groups = rows[:, 0]
    arm = treat[0][groups].astype(float)
    fit = cl.cluster_robust_ols(values, np.column_stack([np.ones_like(values), arm]), groups, correction="CR2")
    np.testing.assert_allclose([fit.coef[1], fit.vcov[1, 1]], [effect[0], var[0]], rtol=1e-10)


def test_aa_lin_cuped_fpr_is_nominal_with_unequal_arms():
    rng = np.random.default_rng(77)
    experiments, participants = 2000, 60
    y, valid, treat = _clustered_outcomes(rng, experiments=experiments, participants=participants, icc=0.3,
                                          treat_share=0.65)
    # pre-session covariate correlated with the outcome within and between participants
    x = 0.7 * y + rng.normal(0.0, 0.7, size=y.shape)
    reductions = []
    rejections = 0
    for e in range(experiments):
        v = valid[e]
        groups = np.nonzero(v)[0]
        res = cl.clustered_cuped(y[e][v], x[e][v], groups, treat[e][groups], interacted=True)
        rejections += res.p_value < ALPHA
        reductions.append(res.variance_reduction)
    fpr = rejections / experiments
    assert 0.04 <= fpr <= 0.06, f"Lin/CUPED clustered A/A false-positive rate {fpr:.4f} outside [0.04, 0.06]"
    assert np.median(reductions) > 0.2  # the covariate is informative: the realised reduction shows it


@pytest.mark.parametrize("icc", [0.0, 0.3, 0.6])
def test_clustered_msprt_stays_below_alpha_under_daily_looks(icc):
    rng = np.random.default_rng(500 + int(icc * 10))
    experiments, days, tau = 2000, 30, 0.3
    y, valid, treat = _clustered_outcomes(rng, experiments=experiments, participants=PARTICIPANTS, icc=icc)
    arrival = rng.integers(0, days, size=treat.shape)
    day = arrival[..., None] + np.arange(MAX_SESSIONS)[None, None, :]  # one session a day after arrival
    rejected = np.zeros(experiments, dtype=bool)
    naive = np.zeros(experiments, dtype=bool)
    for d in range(days):
        seen = valid & (day <= d)
        counts = seen.sum(axis=-1)
        effect, var, _ = cl.clustered_difference_arrays(np.where(seen, y, 0.0).sum(axis=-1), counts, treat)
        present = counts > 0
        ok = ((present & treat).sum(axis=1) >= MSPRT_MIN_PARTICIPANTS_PER_ARM) & (
            (present & ~treat).sum(axis=1) >= MSPRT_MIN_PARTICIPANTS_PER_ARM) & np.isfinite(var) & (var > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_lam = msprt_log_lambda(effect, np.where(ok, var, 1.0), tau=tau)
            t = effect / np.sqrt(var)
        rejected |= ok & (log_lam >= np.log(1.0 / ALPHA))
        naive |= ok & (2.0 * sps.t.sf(np.abs(t), present.sum(axis=1) - 1) < ALPHA)
    fpr = float(rejected.mean())
    assert fpr <= ALPHA, f"ICC {icc}: clustered mSPRT false-positive rate {fpr:.4f} above α under daily looks"
    assert naive.mean() > 2 * ALPHA  # daily peeking at the fixed-horizon test inflates: the looks are real


def test_power_at_the_planned_participants_matches_the_plan_at_icc_0_3():
    icc, lo, hi = 0.3, 1, MAX_SESSIONS
    sizes = np.arange(lo, hi + 1)
    m_bar, cv = float(sizes.mean()), float(sizes.std() / sizes.mean())
    plan = power.plan_participants(weights=[1, 1], mde=0.3, sd=1.0, alpha=ALPHA, power=0.8, icc=icc,
                                sessions_per_participant=m_bar, size_cv=cv)
    per_arm = plan.participants_per_variant[0]
    rng = np.random.default_rng(2024)
    experiments = 3000
    y, valid, _ = _clustered_outcomes(rng, experiments=experiments, participants=2 * per_arm, icc=icc, lo=lo, hi=hi)
    treat = np.broadcast_to(np.arange(2 * per_arm) < per_arm, (experiments, 2 * per_arm))
    y = y + 0.3 * (treat[..., None] & valid)
    p, *_ = _cr2_p_values(y, valid, treat)
    simulated = float((p < ALPHA).mean())
    assert plan.design_effect == pytest.approx(1 + ((1 + cv * cv) * m_bar - 1) * icc)
    assert abs(simulated - 0.8) <= 0.05, f"simulated power {simulated:.3f} at {per_arm} participants per arm; plan 0.80"


def _crossover(rng, *, experiments: int, participants: int, effect: float, drift: float, icc: float = 0.5):
    """Each participant takes 2–10 sessions alternating between conditions in their order
    (treatment first or control first, half each); returns per-participant mean differences
    and the order flag. ``drift`` adds a trend per session index (a period effect)."""
    shape = (experiments, participants)
    m = rng.integers(2, MAX_SESSIONS + 1, size=shape)
    first = np.broadcast_to(np.arange(participants) % 2 == 0, shape)
    pos = np.arange(MAX_SESSIONS)[None, None, :]
    valid = pos < m[..., None]
    is_t = (pos % 2 == 0) == first[..., None]
    u = rng.normal(0, np.sqrt(icc), size=shape)
    y = u[..., None] + rng.normal(0, np.sqrt(1 - icc), size=(*shape, MAX_SESSIONS)) + effect * is_t + drift * pos
    mt = np.where(valid & is_t, y, 0).sum(-1) / (valid & is_t).sum(-1)
    mc = np.where(valid & ~is_t, y, 0).sum(-1) / (valid & ~is_t).sum(-1)
    return mt - mc, first


def test_crossover_aa_fpr_is_nominal():
    rng = np.random.default_rng(99)
    d, first = _crossover(rng, experiments=N_EXPERIMENTS, participants=40, effect=0.0, drift=0.05)
    effect, _, se, df = cl.crossover_arrays(d, first)
    p = 2 * sps.t.sf(np.abs(effect / se), df)
    fpr = float((p < ALPHA).mean())
    assert 0.04 <= fpr <= 0.06, f"crossover A/A false-positive rate {fpr:.4f} outside [0.04, 0.06]"


def test_crossover_recovers_a_simulated_effect_with_nominal_coverage_and_reports_the_period_effect():
    rng = np.random.default_rng(123)
    true = 0.25
    d, first = _crossover(rng, experiments=N_EXPERIMENTS, participants=40, effect=true, drift=0.05)
    effect, period, se, df = cl.crossover_arrays(d, first)
    half = sps.t.ppf(0.975, df) * se
    coverage = float(((effect - half <= true) & (true <= effect + half)).mean())
    assert 0.94 <= coverage <= 0.96 + 0.005, f"coverage {coverage:.4f} of the 95% interval"
    assert abs(float(effect.mean()) - true) < 0.01
    # the drift shows up as a period effect, not as treatment: with m sessions alternating, the
    # control is on average one session later than the treatment when m is even (5 of the 9
    # equally likely m in 2..10) and level when m is odd, so the period effect is 0.05 · 5/9
    assert float(period.mean()) == pytest.approx(0.05 * 5 / 9, abs=0.004)
    # the one-experiment function returns the same numbers as the vectorised path
    one = cl.paired_crossover(d[0], np.zeros_like(d[0]), first[0])
    assert one.effect == pytest.approx(effect[0]) and one.se == pytest.approx(se[0])


def test_the_results_page_path_decides_as_the_validated_test_on_the_same_data():
    """stats.analyze_experiment (what the results page calls) with participant ids gives, per
    experiment, the same p-value and decision as the vectorised CR2 test validated above, so the
    page inherits its calibrated false-positive rate."""
    rng = np.random.default_rng(31)
    experiments = 150
    y, valid, treat = _clustered_outcomes(rng, experiments=experiments, participants=40, icc=0.6)
    p_vec, *_ = _cr2_p_values(y, valid, treat)
    for e in range(experiments):
        rows = np.argwhere(valid[e])
        values, people = y[e][valid[e]], rows[:, 0]
        arm = treat[e][people]
        analysis = report.analyze_experiment(
            control=report.ArmData(name="control", outcomes=values[~arm], participants=people[~arm]),
            treatments=[report.ArmData(name="treatment", outcomes=values[arm], participants=people[arm])],
            n_resamples=100)
        comp = analysis.comparisons[0]
        assert analysis.unit == "participant" and comp.verdict is not None
        assert comp.verdict.p_value == pytest.approx(p_vec[e], rel=1e-9, abs=1e-15)
        assert comp.verdict.reject == (p_vec[e] <= ALPHA)
