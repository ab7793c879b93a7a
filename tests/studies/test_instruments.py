"""Scoring of the validated instruments against scores computed by hand from the papers' rules."""

from __future__ import annotations

import numpy as np
import pytest

from studies import instruments as ins


class TestStai6:
    def test_reverse_items_are_calm_relaxed_content(self):
        assert [it.key for it in ins.STAI6.items if it.reverse] == ["calm", "relaxed", "content"]
        assert [i + 1 for i, it in enumerate(ins.STAI6.items) if it.reverse] == [1, 4, 5]

    def test_hand_computed_rows(self):
        # columns: calm, tense, upset, relaxed, content, worried
        answers = np.array([
            [1, 4, 3, 2, 1, 4],  # reversed 4,3,4 -> 4+4+3+3+4+4 = 22 -> 22*20/6 = 73.33
            [4, 1, 1, 4, 4, 1],  # least anxious possible: 6 -> 20
            [1, 4, 4, 1, 1, 4],  # most anxious: 24 -> 80
            [2, 2, 2, 3, 3, 2],  # 3+2+2+2+2+2 = 13 -> 43.33
        ])
        total = ins.score_array(ins.STAI6, answers)["total"]
        np.testing.assert_allclose(total, [22 * 20 / 6, 20.0, 80.0, 13 * 20 / 6])

    def test_one_person_by_key_matches_the_array(self):
        one = ins.score(ins.STAI6, {"calm": 1, "tense": "4", "upset": 3, "relaxed": 2, "content": 1, "worried": 4})
        assert one == {"total": pytest.approx(73.3333333)}

    def test_lower_is_better_and_improvement_sign(self):
        assert ins.STAI6.scale("total").direction == ins.Direction.LOWER_IS_BETTER
        # anxiety fell from 60 to 40: change -20, improvement +20
        assert ins.change(60.0, 40.0) == -20.0
        assert ins.improvement(ins.STAI6, "total", 60.0, 40.0) == 20.0

    def test_out_of_range_and_missing_items_are_named(self):
        with pytest.raises(ins.InstrumentError) as err:
            ins.score(ins.STAI6, {"calm": 5, "tense": 1, "upset": 1, "relaxed": 0, "content": 1})
        msg = str(err.value)
        assert "missing answer(s): worried" in msg
        with pytest.raises(ins.InstrumentError) as err:
            ins.score(ins.STAI6, {"calm": 5, "tense": 1, "upset": 1, "relaxed": 0, "content": 1, "worried": 2})
        assert "calm: expected whole numbers from 1 to 4, got 5" in str(err.value)
        assert "relaxed" in str(err.value)

    def test_fractions_text_and_unknown_keys_are_refused(self):
        good = {"calm": 1, "tense": 1, "upset": 1, "relaxed": 1, "content": 1, "worried": 1}
        with pytest.raises(ins.InstrumentError, match="whole numbers"):
            ins.score(ins.STAI6, {**good, "calm": 2.5})
        with pytest.raises(ins.InstrumentError, match="expected a number, got 'lots'"):
            ins.score(ins.STAI6, {**good, "calm": "lots"})
        with pytest.raises(ins.InstrumentError, match="unknown item"):
            ins.score(ins.STAI6, {**good, "sleepy": 2})
        with pytest.raises(ins.InstrumentError, match="rows 1"):
            ins.score_array(ins.STAI6, np.array([[1] * 6, [1, 1, 1, 1, 1, np.nan]]))


class TestOthers:
    def test_sam_scores_are_the_chosen_points(self):
        scores = ins.score_array(ins.SAM, np.array([[7, 3, 5], [1, 9, 9]]))
        np.testing.assert_array_equal(scores["pleasure"], [7, 1])
        np.testing.assert_array_equal(scores["arousal"], [3, 9])
        np.testing.assert_array_equal(scores["dominance"], [5, 9])
        with pytest.raises(ins.InstrumentError, match="from 1 to 9"):
            ins.score(ins.SAM, {"pleasure": 10, "arousal": 1, "dominance": 1})
        with pytest.raises(ins.InstrumentError, match="no better direction"):
            ins.improvement(ins.SAM, "arousal", 5, 3)

    def test_vas_is_millimetres_with_decimals(self):
        assert ins.score(ins.VAS_ANXIETY, {"anxiety": 42.5}) == {"anxiety": 42.5}
        assert ins.score(ins.VAS_PAIN, {"pain": 0}) == {"pain": 0.0}
        with pytest.raises(ins.InstrumentError, match="from 0 to 100"):
            ins.score(ins.VAS_PAIN, {"pain": 100.5})

    def test_ipanas_sf_positive_and_negative_affect(self):
        # item order: upset, hostile, alert, ashamed, inspired, nervous, determined, attentive, afraid, active
        row = [2, 1, 4, 1, 3, 5, 4, 5, 2, 3]
        s = ins.score(ins.IPANAS_SF, dict(zip(ins.IPANAS_SF.item_keys, row, strict=True)))
        assert s["positive_affect"] == 4 + 3 + 4 + 5 + 3  # alert inspired determined attentive active = 19
        assert s["negative_affect"] == 2 + 1 + 1 + 5 + 2  # upset hostile ashamed nervous afraid = 11
        assert ins.IPANAS_SF.scale("positive_affect").direction == ins.Direction.HIGHER_IS_BETTER
        assert ins.IPANAS_SF.scale("negative_affect").direction == ins.Direction.LOWER_IS_BETTER

    def test_gems9_has_one_scale_per_factor_in_app_order(self):
        from emotion.vocab import GEMS

        assert ins.GEMS9.item_keys == GEMS
        s = ins.score_array(ins.GEMS9, np.arange(1, 10).reshape(1, 9) % 5 + 1)
        assert [float(s[k][0]) for k in GEMS] == [2, 3, 4, 5, 1, 2, 3, 4, 5]

    def test_wording_override_keeps_scoring_and_refuses_unknown_items(self):
        licensed = ins.with_wording(ins.STAI6, {"calm": "Ich fühle mich ruhig"})
        assert licensed.items[0].text == "Ich fühle mich ruhig" and licensed.items[0].reverse
        assert ins.STAI6.items[0].text == "I feel calm"
        assert ins.score_array(licensed, np.array([[4, 1, 1, 4, 4, 1]]))["total"][0] == 20.0
        with pytest.raises(ins.InstrumentError, match="no item"):
            ins.with_wording(ins.STAI6, {"sleepy": "x"})

    def test_restricted_wording_is_flagged_and_licence_stated(self):
        assert {i.key for i in ins.INSTRUMENTS.values() if i.wording_restricted} == {"stai6", "ipanas_sf"}
        assert all(i.licence and i.reference for i in ins.INSTRUMENTS.values())

    def test_metric_names_round_trip(self):
        names = [n for n, _ in ins.metric_choices()]
        assert "instrument:stai6:total" in names
        inst, scale = ins.parse_metric("instrument:stai6:total")
        assert inst is ins.STAI6 and scale.key == "total"
        assert ins.parse_metric("valence_change") is None
        assert ins.parse_metric("instrument:stai6:nope") is None
        assert "lower is better" in dict(ins.metric_choices())["instrument:stai6:total"]

    def test_wrong_shape_is_refused(self):
        with pytest.raises(ins.InstrumentError, match="needs 6 answers per row"):
            ins.score_array(ins.STAI6, np.ones((2, 5)))
