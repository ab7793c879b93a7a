"""The analysis on constructed outcomes equals calling studies/stats.py directly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from studies.experiments.analysis import Design, VariantDesign, analyse, look_schedule
from studies.listening.selectors import SessionOutcome
from studies.stats import cluster, hypothesis, report, sequential

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _outcome(i, *, shift, pre_distance, completed=True, skip_rate=0.2, rating=4, day=0):
    return SessionOutcome(
        session_id=i, participant_code=f"P-{i:08d}", assignment_ref=None,
        created_at=T0 + timedelta(days=day, minutes=i), completed=completed, tracks_played=5, skips=1,
        skip_rate=skip_rate if completed else None, pre_distance=pre_distance,
        post_distance=(pre_distance - shift) if completed else None,
        shift_toward_target=shift if completed else None, valence_change=shift / 2 if completed else None,
        reflection_rating=rating if completed else None, pre_valence=-0.3, pre_arousal=0.1)


def _design(**kw):
    kw.setdefault("secondary_metrics", ("completion_rate", "skip_rate", "reflection_rating"))
    return Design(experiment_id=7, name="iso vs random", primary_metric="shift_toward_target", alpha=0.05, mde=0.1,
                  variants=(VariantDesign(1, "random (control)", "random", 1.0, True),
                            VariantDesign(2, "iso", "iso", 1.0, False)),
                  bootstrap_resamples=1000, max_looks=10, **kw)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    outcomes, variant_of = [], {}
    for i in range(120):
        arm = 1 + i % 2
        pre = float(rng.uniform(0.5, 1.5))
        shift = float(0.5 * pre + (0.15 if arm == 2 else 0.0) + rng.normal(0, 0.2))
        completed = bool(rng.random() < (0.85 if arm == 2 else 0.7))
        o = _outcome(i, shift=shift, pre_distance=pre, completed=completed, skip_rate=float(rng.uniform(0, 0.5)),
                     rating=int(rng.integers(1, 6)), day=i // 30)
        outcomes.append(o)
        variant_of[i] = arm
    return outcomes, variant_of


def _arm(outcomes, variant_of, arm, attr):
    return np.array([getattr(o, attr) for o in outcomes if variant_of[o.session_id] == arm
                     and getattr(o, attr) is not None])


def _codes(outcomes, variant_of, arm, attr):
    return np.array([o.participant_code for o in outcomes if variant_of[o.session_id] == arm
                     and getattr(o, attr) is not None])


def test_numbers_match_stats_called_directly(data):
    """Every figure is the participant-level method of studies.stats.cluster on the same arrays."""
    outcomes, variant_of = data
    res = analyse(design=_design(planned_participants=100), outcomes=outcomes, variant_of=variant_of,
                  with_plots=False)
    x = _arm(outcomes, variant_of, 2, "shift_toward_target")
    y = _arm(outcomes, variant_of, 1, "shift_toward_target")
    gx = _codes(outcomes, variant_of, 2, "shift_toward_target")
    gy = _codes(outcomes, variant_of, 1, "shift_toward_target")
    vals, groups = np.concatenate([x, y]), np.concatenate([gx, gy])
    arm = np.r_[np.ones(x.size, bool), np.zeros(y.size, bool)]
    comp = res["comparisons"][0]
    assert comp["variant"] == "iso" and comp["control"] == "random (control)"
    assert res["unit_of_analysis"].startswith("participant") and res["n_participants"] == 120
    diff = cluster.clustered_difference(vals, groups, arm)
    assert comp["primary"]["difference"]["p_value"] == pytest.approx(diff.p_value)
    assert comp["primary"]["difference"]["ci_low"] == pytest.approx(diff.ci_low)
    assert "CR2" in comp["primary"]["difference"]["method"]
    # one session per participant here: the rank test on participant means is the plain one
    assert comp["primary"]["mann_whitney"]["p_value"] == pytest.approx(hypothesis.mann_whitney_u(x, y).p_value)
    boot = cluster.cluster_bootstrap(vals, groups, arm, n_resamples=1000, seed=7)
    assert comp["primary"]["bootstrap"]["ci_low"] == pytest.approx(boot.ci_low)
    assert comp["primary"]["hedges_g"]["g"] == pytest.approx(hypothesis.hedges_g(x, y).g)
    cx = _arm(outcomes, variant_of, 2, "pre_distance")[[o.completed for o in outcomes if variant_of[o.session_id] == 2]]
    cy = _arm(outcomes, variant_of, 1, "pre_distance")[[o.completed for o in outcomes if variant_of[o.session_id] == 1]]
    cuped = cluster.clustered_cuped(vals, np.concatenate([cx, cy]), groups, arm)
    assert cuped.interacted  # the arms have different numbers of completed sessions: Lin's adjustment
    assert comp["primary"]["cuped"]["effect"] == pytest.approx(cuped.effect)
    assert comp["primary"]["cuped"]["variance_reduction"] == pytest.approx(cuped.variance_reduction)
    assert cuped.variance_reduction > 0.2  # the pre-session distance predicts the shift
    summary = {v["name"]: v["summary"] for v in res["variants"]}
    assert summary["iso"]["mean"] == pytest.approx(x.mean())
    assert summary["random (control)"]["sd"] == pytest.approx(y.std(ddof=1))
    assert comp["primary"]["method"] == cuped.method
    v = report.verdict(cuped, alpha=0.05, effect_label="mood shift toward the target (treatment − control)")
    assert comp["primary"]["verdict"]["sentence"] == v.sentence
    assert not res["interim"]  # 120 participants ≥ 100 planned: the fixed-horizon verdict leads
    assert f"iso vs random (control): {v.sentence}" in res["verdict"]
    assert ("not enough evidence" in res["verdict"]) == (cuped.p_value > 0.05)
    assert res["icc"]["n_participants"] == x.size + y.size and res["icc"]["effective_n"] == pytest.approx(x.size + y.size)

    # secondary metrics, clustered, with Holm across them
    sec = {r["metric"]: r for r in comp["secondary"]}
    done = np.array([float(o.completed) for o in outcomes if variant_of[o.session_id] == 2]
                    + [float(o.completed) for o in outcomes if variant_of[o.session_id] == 1])
    every = np.array([o.participant_code for o in outcomes if variant_of[o.session_id] == 2]
                     + [o.participant_code for o in outcomes if variant_of[o.session_id] == 1])
    every_arm = np.r_[np.ones(60, bool), np.zeros(60, bool)]
    prop = cluster.clustered_proportions(done, every, every_arm)
    assert sec["completion_rate"]["p_value"] == pytest.approx(prop.p_value)
    ps = {"completion_rate": prop.p_value}
    for name in ("skip_rate", "reflection_rating"):
        a, b = _arm(outcomes, variant_of, 2, name), _arm(outcomes, variant_of, 1, name)
        ga, gb = _codes(outcomes, variant_of, 2, name), _codes(outcomes, variant_of, 1, name)
        ps[name] = cluster.clustered_difference(np.r_[a, b], np.r_[ga, gb],
                                                np.r_[np.ones(a.size, bool), np.zeros(b.size, bool)]).p_value
    holm = hypothesis.holm(ps)
    for name in ps:
        assert sec[name]["p_holm"] == pytest.approx(holm[name].adjusted)

    # intention to treat: every exposed session, a missing post-mood counts as no change
    itt_y = np.array([o.shift_toward_target or 0.0 for o in outcomes if variant_of[o.session_id] == 2]
                     + [o.shift_toward_target or 0.0 for o in outcomes if variant_of[o.session_id] == 1])
    itt = cluster.clustered_difference(itt_y, every, every_arm)
    assert comp["itt"]["effect"] == pytest.approx(itt.effect) and comp["itt"]["p_value"] == pytest.approx(itt.p_value)
    assert comp["itt"]["missing_as_no_change"] == int(120 - done.sum()) and "no change" in comp["itt"]["definition"]
    assert comp["attrition"]["difference"] == pytest.approx(prop.effect)

    # sequential: looks at day ends (four days of data), τ = the MDE, burn-in in participants
    times = np.array([o.created_at.timestamp() for o in outcomes if variant_of[o.session_id] == 2 and o.completed]
                     + [o.created_at.timestamp() for o in outcomes if variant_of[o.session_id] == 1 and o.completed])
    look_times, labels = look_schedule(times, max_looks=10)
    assert labels == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    seq = sequential.msprt_clustered(vals, groups, arm, times, look_times, tau=0.1, alpha=0.05)
    assert comp["sequential"]["p_value"] == pytest.approx(seq.p_value)
    assert comp["sequential"]["ci_low"] == pytest.approx(seq.ci_low)
    assert comp["sequential"]["looks"] == len(seq.looks)

    assert res["srm"]["mismatch"] is False
    assert res["srm"]["observed"] == [60, 60]


def test_before_the_planned_participants_the_sequential_result_leads(data):
    outcomes, variant_of = data
    res = analyse(design=_design(planned_participants=500), outcomes=outcomes, variant_of=variant_of,
                  with_plots=False)
    assert res["interim"]
    assert res["verdict"].startswith("Interim: 120 of 500 planned participants")
    assert "always-valid (mSPRT)" in res["verdict"] and "interim, not a verdict" in res["verdict"]
    assert "CUPED" not in res["verdict"]  # the fixed-horizon sentence does not headline an interim page


def test_repeated_sessions_are_clustered_on_the_participant():
    rng = np.random.default_rng(4)
    outcomes, variant_of, i = [], {}, 0
    for person in range(40):
        arm = 1 + person % 2
        u = rng.normal(0, 0.4)
        for _ in range(int(rng.integers(1, 8))):
            o = _outcome(i, shift=float(u + rng.normal(0, 0.2)), pre_distance=float(rng.uniform(0.5, 1.5)))
            outcomes.append(dataclasses.replace(o, participant_code=f"P-{person:04d}"))
            variant_of[i] = arm
            i += 1
    res = analyse(design=_design(planned_participants=40), outcomes=outcomes, variant_of=variant_of,
                  with_plots=False)
    assert res["n_participants"] == 40 and res["n_sessions"] == i
    assert res["icc"]["icc"] > 0.5 and res["icc"]["effective_n"] < i / 2
    diff = res["comparisons"][0]["primary"]["difference"]
    assert diff["df"] == 39 and diff["participants_treatment"] == 20
    assert {v["name"]: v["participants_with_outcome"] for v in res["variants"]} == {"random (control)": 20, "iso": 20}


def test_srm_flag_surfaces_in_the_verdict(data):
    outcomes, variant_of = data
    lopsided = {k: (2 if k % 5 else 1) for k in variant_of}  # 80% / 20% where 50/50 was planned
    res = analyse(design=_design(), outcomes=outcomes, variant_of=lopsided, with_plots=False)
    assert res["srm"]["mismatch"] is True
    assert res["srm"]["p_value"] < 0.001
    assert res["verdict"].startswith("Sample ratio mismatch")


def test_not_enough_data_is_said_not_crashed():
    outcomes = [_outcome(0, shift=0.1, pre_distance=1.0), _outcome(1, shift=0.2, pre_distance=1.0)]
    res = analyse(design=_design(), outcomes=outcomes, variant_of={0: 1, 1: 2}, with_plots=True)
    comp = res["comparisons"][0]
    assert comp["primary"]["difference"] is None and comp["primary"]["verdict"] is None
    assert "at least two participants" in comp["primary"]["errors"]["difference"]
    assert comp["sequential"]["error"]
    assert "not enough data yet" in res["verdict"]
    assert "distribution" in res["plots"] and "forest" not in res["plots"]


def test_plots_are_inline_svg(data):
    import dataclasses

    outcomes, variant_of = data
    # day 1 has only 8 sessions: too few for the mSPRT burn-in, so its look is dropped
    outcomes = [dataclasses.replace(o, created_at=T0 + timedelta(days=0 if o.session_id < 8 else 1 + (o.session_id - 8) // 38,
                                                                   minutes=o.session_id)) for o in outcomes]
    res = analyse(design=_design(secondary_metrics=()), outcomes=outcomes, variant_of=variant_of)
    for key in ("distribution", "forest", "cumulative"):
        assert res["plots"][key].startswith("<svg") and 'role="img"' in res["plots"][key]
    assert "series-iso" in res["plots"]["distribution"]
    # the cumulative plot's look labels are the looks that survived the burn-in, in order
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    n_looks = res["comparisons"][0]["sequential"]["looks"]
    assert 1 <= n_looks < 4
    for day in days[-n_looks:]:
        assert day in res["plots"]["cumulative"]
    for day in days[:-n_looks]:
        assert day not in res["plots"]["cumulative"]
    assert res["comparisons"][0]["secondary"] == []


def test_short_experiments_look_in_arrival_order():
    times = np.array([T0.timestamp() + 60 * i for i in range(50)])
    look_times, labels = look_schedule(times, max_looks=10)
    assert len(look_times) == 10 and labels[-1] == "50 sessions"
    assert look_times[-1] == times[-1]


def _within_data(*, effect=0.3, drift=0.1, people=30, sessions=4, seed=5):
    """Participants alternating between control (1) and iso (2) in their order, with a drift per session."""
    rng = np.random.default_rng(seed)
    outcomes, variant_of, i = [], {}, 0
    for person in range(people):
        first = 2 if person % 2 == 0 else 1
        u = rng.normal(0, 0.3)
        for k in range(sessions):
            arm = first if k % 2 == 0 else 3 - first
            shift = float(u + effect * (arm == 2) + drift * k + rng.normal(0, 0.1))
            o = _outcome(i, shift=shift, pre_distance=1.0, day=k)
            outcomes.append(dataclasses.replace(o, participant_code=f"P-{person:04d}",
                                                created_at=T0 + timedelta(days=k, minutes=person)))
            variant_of[i] = arm
            i += 1
    return outcomes, variant_of


def test_within_subject_analysis_is_paired_with_the_period_effect_and_order_srm():
    outcomes, variant_of = _within_data()
    res = analyse(design=_design(design="within", planned_participants=30), outcomes=outcomes, variant_of=variant_of,
                  with_plots=False)
    assert res["comparisons"] == [] and len(res["crossover"]) == 1
    comp = res["crossover"][0]
    yt, yc, first = [], [], []
    for person in range(30):
        mine = [(o, variant_of[o.session_id]) for o in outcomes if o.participant_code == f"P-{person:04d}"]
        yt.append(np.mean([o.shift_toward_target for o, a in mine if a == 2]))
        yc.append(np.mean([o.shift_toward_target for o, a in mine if a == 1]))
        first.append(person % 2 == 0)
    direct = cluster.paired_crossover(yt, yc, first)
    assert comp["effect"] == pytest.approx(direct.effect) and comp["p_value"] == pytest.approx(direct.p_value)
    assert comp["effect"] == pytest.approx(0.3, abs=0.05)
    assert comp["period_effect"] == pytest.approx(0.1, abs=0.05)  # the drift is a period effect, not treatment
    assert res["srm"]["observed"] == [15, 15] and not res["srm"]["mismatch"]
    assert "within participant" in res["verdict"]


def test_within_subject_with_one_variant_says_so():
    outcomes, variant_of = _within_data(people=4)
    design = Design(experiment_id=7, name="solo", primary_metric="shift_toward_target", alpha=0.05, mde=0.1,
                    variants=(VariantDesign(1, "random (control)", "random", 1.0, True),), design="within",
                    secondary_metrics=())
    res = analyse(design=design, outcomes=outcomes, variant_of={k: 1 for k in variant_of}, with_plots=False)
    assert "at least two variants" in res["srm"]["error"]
    assert any("at least one other variant" in n for n in res["notes"])


def test_bad_designs_give_messages_not_exceptions(data):
    outcomes, variant_of = data
    everyone_in_control = {k: 1 for k in variant_of}
    res = analyse(design=_design(planned_participants=100), outcomes=outcomes, variant_of=everyone_in_control,
                  with_plots=False)
    comp = res["comparisons"][0]
    assert comp["primary"]["verdict"] is None and "one arm" in comp["primary"]["errors"]["difference"]
    assert "one arm" in comp["itt"]["error"]
    one_person = [dataclasses.replace(o, participant_code="P-solo") for o in outcomes]
    res = analyse(design=_design(planned_participants=100), outcomes=one_person, variant_of=everyone_in_control,
                  with_plots=False)
    assert res["n_participants"] == 1 and res["comparisons"][0]["primary"]["verdict"] is None


def test_p_values_never_display_as_zero_on_the_page_or_in_the_csv(data):
    from studies.experiments.analysis import result_rows
    from studies.experiments.templatetags.experiment_format import pvalue

    assert pvalue(3e-12) == "< 0.0001" and pvalue(0.0042) == "0.0042" and pvalue(0.2134) == "0.213"
    assert pvalue(None) == "—"
    outcomes, variant_of = data
    strong = [dataclasses.replace(o, shift_toward_target=(o.shift_toward_target or 0) + 3.0 * (variant_of[o.session_id] == 2))
              if o.shift_toward_target is not None else o for o in outcomes]
    res = analyse(design=_design(planned_participants=100), outcomes=strong, variant_of=variant_of, with_plots=False)
    assert res["comparisons"][0]["primary"]["difference"]["p_value"] < 1e-4
    rows = {(c, q): v for c, q, v in result_rows(res)}
    assert rows[("iso vs random (control)", "per protocol, clustered difference: p")] == "< 0.0001"
    assert "p < 0.0001" in res["verdict"] and "0.0000" not in res["verdict"]


def test_short_experiments_look_after_every_few_participants():
    times = np.array([T0.timestamp() + 60 * i for i in range(50)])
    people = np.repeat(np.arange(25), 2)  # two sessions each, one after the other
    look_times, labels = look_schedule(times, max_looks=5, participants=people)
    assert labels == ["5 participants", "10 participants", "15 participants", "20 participants", "25 participants"]
    assert look_times[0] == times[8]  # the 5th participant's first session
    assert look_times[-1] == times[-1]  # the last look sees every session
