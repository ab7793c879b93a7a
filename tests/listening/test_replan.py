import numpy as np
import pytest

from studies.listening.mood import replan_decision

TARGET = (0.55, -0.6)
KW = {"target_va": TARGET, "after_tracks": 3, "min_progress": 0.05, "away_margin": 0.15, "min_seconds": 5}


def rows(v, a, n=20):
    return np.tile([v, a], (n, 1))


def test_no_progress_triggers_only_after_the_configured_tracks():
    same = rows(-0.6, -0.4)
    assert not replan_decision(then_va=same, now_va=same, tracks_since_plan=2, **KW).replan
    d = replan_decision(then_va=same, now_va=same, tracks_since_plan=3, **KW)
    assert d.replan and d.progress == pytest.approx(0.0) and d.current_va == pytest.approx((-0.6, -0.4))
    assert d.mode == "enhance"  # the calm target is brighter: design 001 enhances toward it


def test_progress_keeps_the_plan():
    d = replan_decision(then_va=rows(-0.6, -0.4), now_va=rows(0.0, -0.5), tracks_since_plan=5, **KW)
    assert not d.replan and d.progress > 0.05


def test_moving_away_triggers_early():
    d = replan_decision(then_va=rows(0.0, -0.4), now_va=rows(-0.7, 0.6), tracks_since_plan=1, **KW)
    assert d.replan and d.progress < -0.15 and "away" in d.reason


def test_too_few_readings_or_no_finished_track_keep_the_plan():
    assert not replan_decision(then_va=rows(0, 0, 3), now_va=rows(0, 0, 3), tracks_since_plan=9, **KW).replan
    assert not replan_decision(then_va=rows(0, 0), now_va=rows(-0.9, 0.9), tracks_since_plan=0, **KW).replan


def test_near_target_modulates():
    d = replan_decision(
        then_va=rows(0.3, -0.4), now_va=rows(0.35, -0.35), tracks_since_plan=3, **{**KW, "min_progress": 0.5}
    )
    assert d.replan and d.mode == "modulate" and d.new_target_va == pytest.approx(TARGET)
