"""SVG pictures from studies/plots.py: well-formed, accessible, one series per variant, clear errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from studies import plots
from studies.stats import hypothesis, power, sequential

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg  # inline-able in HTML
    return ET.fromstring(svg)


def _assert_accessible(svg: str, title: str) -> ET.Element:
    root = _parse(svg)
    assert root.get("role") == "img"
    title_el = root.find(f"{SVG}title")
    desc_el = root.find(f"{SVG}desc")
    assert title_el is not None and title_el.text == title
    assert desc_el is not None and len(desc_el.text) > 20
    labelled = root.get("aria-labelledby").split()
    assert labelled == [title_el.get("id"), desc_el.get("id")]
    # text stays text: the title is also drawn as an SVG <text>, searchable and selectable
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert title in texts
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "repeated ids make inline SVG invalid"
    return root


def _series(svg: str) -> list[str]:
    return re.findall(r'<g id="series-([^"]+)"', svg)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


class TestDistribution:
    def test_one_series_per_variant(self, rng):
        groups = {"random (control)": rng.normal(0, 1, 60), "mapping": rng.normal(0.3, 1, 2000),
                  "modulate": rng.normal(0.1, 1, 30)}
        svg = plots.distribution_plot(groups, title="Mood shift by variant", value_label="distance reduction")
        root = _assert_accessible(svg, "Mood shift by variant")
        assert _series(svg) == ["random-control", "mapping", "modulate"]
        desc = root.find(f"{SVG}desc").text
        assert "mapping: n = 2000" in desc and f"{plots.MAX_POINTS} of 2000 points drawn" in desc
        assert "distance reduction" in desc

    def test_each_series_draws_its_points(self, rng):
        svg = plots.distribution_plot([("a", rng.normal(size=7)), ("b", rng.normal(size=3))], title="Two arms")
        root = _parse(svg)
        counts = {}
        for g in root.iter(f"{SVG}g"):
            if (gid := g.get("id", "")).startswith("series-"):
                counts[gid] = len(list(g.iter(f"{SVG}use"))) + len(list(g.iter(f"{SVG}path")))
        assert counts["series-a"] >= 7 and counts["series-b"] >= 3

    def test_empty_and_single_variants_are_drawn_and_described(self):
        svg = plots.distribution_plot({"control": [0.1, 0.2, 0.4], "new": [], "one": [0.3]}, title="Early days")
        assert _series(svg) == ["control", "new", "one"]
        assert "new: no outcomes yet" in svg and "one: n = 1" in svg

    def test_title_is_escaped(self):
        svg = plots.distribution_plot({"a": [1.0, 2.0]}, title="A <b> & C")
        _assert_accessible(svg, "A <b> & C")

    def test_deterministic(self, rng):
        groups = {"a": rng.normal(size=50), "b": rng.normal(size=50)}
        assert plots.distribution_plot(groups, title="Same") == plots.distribution_plot(groups, title="Same")
        first = _parse(plots.distribution_plot(groups, title="One")).get("id")
        second = _parse(plots.distribution_plot(groups, title="Other")).get("id")
        assert first != second

    @pytest.mark.parametrize("groups, title, message", [
        ({}, "t", "no variants"), ({"a": [1.0, np.nan]}, "t", "NaN"), ({"a": [1.0]}, "  ", "title"),
    ])
    def test_bad_input(self, groups, title, message):
        with pytest.raises(ValueError, match=message):
            plots.distribution_plot(groups, title=title)

    def test_duplicate_slugs_get_distinct_ids(self):
        svg = plots.distribution_plot([("Mapping", [1.0, 2.0]), ("mapping!", [1.0, 3.0])], title="Dupes")
        assert _series(svg) == ["mapping", "mapping-2"]


class TestForest:
    def test_rows_and_reference(self):
        rows = [plots.IntervalRow("mapping", 0.3, 0.1, 0.5), plots.IntervalRow("modulate", -0.05, -0.2, 0.1),
                plots.IntervalRow("completion rate", 0.02, -0.01, 0.05)]
        svg = plots.forest_plot(rows, title="Effects vs random")
        root = _assert_accessible(svg, "Effects vs random")
        assert _series(svg) == ["mapping", "modulate", "completion-rate"]
        assert 'id="mapping-interval-0"' in svg
        desc = root.find(f"{SVG}desc").text
        assert "mapping: 0.3 (95% CI 0.1 to 0.5), interval excludes 0" in desc
        assert "modulate: -0.05 (95% CI -0.2 to 0.1), interval includes 0" in desc

    def test_from_stats_results(self, rng):
        t, c = rng.normal(0.5, 1, 80), rng.normal(0, 1, 80)
        w = hypothesis.welch_t_test(t, c)
        b = hypothesis.bootstrap_mean_diff(t, c, n_resamples=1000)
        rows = [plots.IntervalRow("Welch", w.effect, w.ci_low, w.ci_high),
                plots.IntervalRow("bootstrap", b.effect, b.ci_low, b.ci_high)]
        assert _series(plots.forest_plot(rows, title="Primary metric")) == ["welch", "bootstrap"]

    @pytest.mark.parametrize("rows, message", [
        ([], "no effects"),
        ([plots.IntervalRow("x", 1.0, 0.0, 0.5)], "outside"),
        ([plots.IntervalRow("x", np.nan, 0.0, 0.5)], "non-finite"),
    ])
    def test_bad_input(self, rows, message):
        with pytest.raises(ValueError, match=message):
            plots.forest_plot(rows, title="t")


class TestCumulative:
    @pytest.fixture
    def paths(self, rng):
        c = rng.normal(0, 1, 600)
        looks = [(k, k) for k in range(20, 601, 20)]
        return {
            "mapping": sequential.msprt(rng.normal(0.4, 1, 600), c, looks=looks, tau=0.3),
            "modulate": sequential.msprt(rng.normal(0.0, 1, 600), c, looks=looks, tau=0.3),
        }

    def test_series_band_boundary_and_rejection_marker(self, paths):
        days = [f"day {i + 1}" for i in range(30)]
        svg = plots.cumulative_effect_plot(paths, title="Cumulative mood shift", look_labels=days)
        root = _assert_accessible(svg, "Cumulative mood shift")
        assert _series(svg) == ["mapping", "modulate"]
        for sid in ("mapping", "modulate"):
            assert f'id="band-{sid}"' in svg and f'id="boundary-{sid}"' in svg
        assert paths["mapping"].rejected and 'id="rejection-mapping"' in svg
        assert not paths["modulate"].rejected and 'id="rejection-modulate"' not in svg
        desc = root.find(f"{SVG}desc").text
        first = paths["mapping"].first_rejection
        assert "mapping: latest estimate" in desc and f"crossed the boundary at day {first + 1}" in desc
        assert "modulate" in desc and "has not crossed the boundary" in desc

    def test_without_labels(self, paths):
        svg = plots.cumulative_effect_plot({"mapping": paths["mapping"]}, title="One arm")
        assert _series(svg) == ["mapping"]

    def test_bad_input(self, paths):
        with pytest.raises(ValueError, match="no sequential"):
            plots.cumulative_effect_plot({}, title="t")
        with pytest.raises(ValueError, match="label per look"):
            plots.cumulative_effect_plot(paths, title="t", look_labels=["d1"])


class TestMoodPath:
    def test_pre_trace_post_target(self, rng):
        trace = np.column_stack([np.linspace(-0.6, 0.3, 25), np.linspace(0.5, -0.2, 25)])
        paths = [
            plots.MoodPath("session 1", pre=(-0.6, 0.5), post=(0.3, -0.2), trace=trace, target=(0.5, -0.5)),
            plots.MoodPath("session 2", pre=(-0.3, -0.4)),
        ]
        svg = plots.mood_path_plot(paths, title="Your mood paths")
        root = _assert_accessible(svg, "Your mood paths")
        assert _series(svg) == ["session-1", "session-2"]
        desc = root.find(f"{SVG}desc").text
        assert "25 webcam readings" in desc and "closer to the target" in desc and "session 2" in desc
        assert "not finished" in desc
        # GEMS categories from emotion.vocab orient the plane
        texts = {"".join(t.itertext()) for t in root.iter(f"{SVG}text")}
        assert {"Peacefulness", "Tension", "Sadness"} <= texts
        # the trace polyline passes through every reading: pre + 25 + post vertices
        series = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "series-session-1")
        d = next(series.iter(f"{SVG}path")).get("d")
        assert d.count("L") == 26

    def test_moving_away_is_reported(self):
        svg = plots.mood_path_plot([plots.MoodPath("s", pre=(0.4, -0.4), post=(-0.5, 0.6), target=(0.5, -0.5))],
                                   title="Away")
        assert "away from the target" in svg

    @pytest.mark.parametrize("path, message", [
        (plots.MoodPath("s", pre=(1.5, 0.0)), "within"),
        (plots.MoodPath("s", pre=(0.0, 0.0), post=(np.nan, 0.0)), "within"),
        (plots.MoodPath("s", pre=(0.0, 0.0), trace=np.zeros((3, 3))), "trace"),
        (plots.MoodPath("s", pre=(0.0,)), "pair"),
    ])
    def test_bad_input(self, path, message):
        with pytest.raises(ValueError, match=message):
            plots.mood_path_plot([path], title="t")

    def test_no_paths(self):
        with pytest.raises(ValueError, match="no mood paths"):
            plots.mood_path_plot([], title="t")


class TestPowerCurve:
    def test_plan_marked_and_one_series_per_effect(self):
        plan = power.sample_size_two_sample(mde=0.5)
        svg = plots.power_curve_plot(plan, title="Planned sample size", effect_sizes=[0.3, 0.8, 0.5])
        root = _assert_accessible(svg, "Planned sample size")
        assert _series(svg) == ["d-0-5", "d-0-3", "d-0-8"]  # the plan's effect first, duplicates dropped
        desc = root.find(f"{SVG}desc").text
        assert "64 control and 64 treatment participants (128 in total)" in desc
        assert "d = 0.5: power 80% at the planned size" in desc
        assert 'id="planned"' in svg

    def test_unbalanced_plan(self):
        plan = power.sample_size_two_sample(mde=0.3, ratio=2.0)
        svg = plots.power_curve_plot(plan, title="Two to one")
        assert "treatment arm: 2 ×" in svg and _series(svg) == ["d-0-3"]

    def test_bad_effect_sizes(self):
        with pytest.raises(ValueError, match="positive"):
            plots.power_curve_plot(power.sample_size_two_sample(mde=0.5), title="t", effect_sizes=[-1.0])
