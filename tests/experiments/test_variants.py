"""Deterministic, sticky, weighted variants and the overlapping-experiments rule (studies/experiments/variants.py)."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from scipy import stats as sps

from studies.experiments.variants import (
    ExperimentSpec,
    WeightedVariant,
    choose_experiment,
    hash_unit,
    new_salt,
    variant_claim,
    variant_for,
)
from studies.stats import hypothesis

CODES = [f"P-{i:08d}" for i in range(12_000)]
AB = (WeightedVariant("control", 1.0), WeightedVariant("mapping", 1.0))


def _exp(id_: int, salt: str, variants=AB) -> ExperimentSpec:
    return ExperimentSpec(id=id_, salt=salt, variants=tuple(variants))


class TestHash:
    def test_recipe_is_locked(self):
        # the recipe must never change while experiments run: recompute it independently
        digest = hashlib.sha256(b"attune:variant:s4lt:P-7KQ2XR9M").digest()
        expected = (int.from_bytes(digest[:8], "big") >> 11) / 2**53
        assert hash_unit("P-7KQ2XR9M", "s4lt", "variant") == expected
        assert 0.0 <= expected < 1.0

    def test_uniform(self):
        u = np.array([hash_unit(c, "salt", "variant") for c in CODES])
        assert sps.kstest(u, "uniform").pvalue > 0.001

    @pytest.mark.parametrize("code, salt", [("", "s"), ("P-1", ""), (None, "s")])
    def test_bad_input(self, code, salt):
        with pytest.raises(ValueError):
            hash_unit(code, salt, "variant")

    def test_new_salt_is_random(self):
        assert len({new_salt() for _ in range(50)}) == 50


class TestVariant:
    def test_sticky_and_order_independent(self):
        variants = [WeightedVariant("random", 1), WeightedVariant("mapping", 2), WeightedVariant("modulate", 1)]
        first = [variant_for(participant_code=c, salt="exp-1", variants=variants).key for c in CODES[:500]]
        again = [variant_for(participant_code=c, salt="exp-1", variants=variants[::-1]).key for c in CODES[:500]]
        assert first == again

    def test_weights_are_followed(self):
        variants = [WeightedVariant("random", 1), WeightedVariant("mapping", 1), WeightedVariant("modulate", 2)]
        counts = Counter(variant_for(participant_code=c, salt="exp-w", variants=variants).key for c in CODES)
        keys = sorted(counts)
        srm = hypothesis.sample_ratio_mismatch([counts[k] for k in keys], [{"random": 1, "mapping": 1, "modulate": 2}[k]
                                                                    for k in keys])
        assert not srm.mismatch, srm.status
        assert counts["modulate"] / len(CODES) == pytest.approx(0.5, abs=0.02)

    def test_salt_decorrelates_experiments(self):
        a = [variant_for(participant_code=c, salt="exp-a", variants=AB).key for c in CODES]
        b = [variant_for(participant_code=c, salt="exp-b", variants=AB).key for c in CODES]
        table = np.zeros((2, 2))
        for x, y in zip(a, b, strict=True):
            table[x == "control", y == "control"] += 1
        assert sps.chi2_contingency(table).pvalue > 0.001
        assert a != b

    def test_single_variant(self):
        assert variant_for(participant_code="P-1", salt="s", variants=[WeightedVariant("only", 3)]).key == "only"

    @pytest.mark.parametrize("variants, message", [
        ([], "at least one"),
        ([WeightedVariant("a", 1), WeightedVariant("a", 2)], "duplicate"),
        ([WeightedVariant("a", 0), WeightedVariant("b", 1)], "positive"),
        ([WeightedVariant("a", float("nan"))], "positive"),
        ([WeightedVariant("", 1)], "non-empty"),
    ])
    def test_bad_variants(self, variants, message):
        with pytest.raises(ValueError, match=message):
            variant_for(participant_code="P-1", salt="s", variants=variants)


class TestOverlap:
    def test_no_eligible_experiment(self):
        assert variant_claim(participant_code="P-1", eligible=[]) is None

    def test_each_session_claimed_by_exactly_one_with_fair_shares(self):
        exps = [_exp(1, "s1"), _exp(2, "s2"), _exp(3, "s3")]
        claims = Counter(variant_claim(participant_code=c, eligible=exps).experiment_id for c in CODES)
        assert sum(claims.values()) == len(CODES)
        assert not hypothesis.sample_ratio_mismatch([claims[1], claims[2], claims[3]], [1, 1, 1]).mismatch

    def test_listing_order_does_not_matter(self):
        exps = [_exp(1, "s1"), _exp(2, "s2"), _exp(3, "s3")]
        for c in CODES[:300]:
            assert variant_claim(participant_code=c, eligible=exps) == variant_claim(participant_code=c, eligible=exps[::-1])

    def test_starting_an_experiment_only_moves_people_into_it(self):
        before_exps = [_exp(1, "s1"), _exp(2, "s2")]
        after_exps = before_exps + [_exp(3, "s3")]
        moved_into_new = 0
        for c in CODES[:3000]:
            before = variant_claim(participant_code=c, eligible=before_exps).experiment_id
            after = variant_claim(participant_code=c, eligible=after_exps).experiment_id
            assert after in (before, 3)
            moved_into_new += after == 3
        assert moved_into_new / 3000 == pytest.approx(1 / 3, abs=0.03)

    def test_prior_exposure_wins(self):
        exps = [_exp(1, "s1"), _exp(2, "s2")]
        for c in CODES[:200]:
            a = variant_claim(participant_code=c, eligible=exps, prior_exposures={2})
            assert (a.experiment_id, a.reason) == (2, "prior exposure")
            # an exposure to an experiment that is not eligible now does not count
            b = variant_claim(participant_code=c, eligible=exps, prior_exposures={99})
            assert b.reason == "rendezvous"

    def test_claiming_does_not_unbalance_variants(self):
        exps = [_exp(1, "s1"), _exp(2, "s2")]
        chosen = [variant_claim(participant_code=c, eligible=exps) for c in CODES]
        in_one = Counter(a.variant.key for a in chosen if a.experiment_id == 1)
        assert not hypothesis.sample_ratio_mismatch([in_one["control"], in_one["mapping"]], [1, 1]).mismatch
        # and the variant is the same one the experiment alone would give
        for c, a in zip(CODES[:300], chosen[:300], strict=True):
            salt = "s1" if a.experiment_id == 1 else "s2"
            assert a.variant == variant_for(participant_code=c, salt=salt, variants=AB)

    def test_duplicate_eligible_rejected(self):
        with pytest.raises(ValueError, match="twice"):
            choose_experiment(participant_code="P-1", eligible=[_exp(1, "s1"), _exp(1, "s1")])
