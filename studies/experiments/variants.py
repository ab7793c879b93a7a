"""Deterministic experiment variants (pure: hashlib only, no Django).

Variant choice (the PlanOut / oTree pattern): a participant's variant in an experiment is
a pure function of ``sha256("attune:variant:" + salt + ":" + participant_code)``. The first 53
bits of the digest give a number u in [0, 1); the variants, sorted by key, split [0, 1) into
consecutive intervals proportional to their allocation weights, and the variant whose interval
holds u is the participant's variant. The same participant therefore gets the same variant in every
session (sticky) without any stored state, and the split follows the weights. Variants are
sorted by key so the answer does not depend on the order a database returns them in. Changing
the weights or the variant set reshuffles participants: that is why variants are frozen once
an experiment is running, and why the services layer records the first variant as an
exposure and reuses it.

Overlapping experiments: the rule is *sticky rendezvous claiming*. When a session starts, the
caller lists the running experiments the session is eligible for (mode, consent, ...). One of
them at most claims the session:

1. If the participant already has an exposure in one or more of the eligible experiments, one
   of those claims it (the participant keeps contributing to the experiment they were already
   in; never two at once).
2. Otherwise every eligible experiment gets the score
   ``sha256("attune:layer:" + salt + ":" + participant_code)`` and the highest score claims the
   session (ties, practically impossible, go to the lower experiment id). This is rendezvous
   (highest-random-weight) hashing: each of k overlapping experiments receives about 1/k of the
   new participants; the answer does not depend on the order the experiments are listed in;
   starting a new experiment only takes participants *into* the new one and never moves
   anyone between the existing ones; stopping one only redistributes that one's participants.

Within rule 1, if several eligible experiments hold exposures, the same rendezvous score
decides among them. The "layer" and "variant" hashes use different prefixes, so which
participants an experiment claims is independent of which variant they get in it: claiming
does not unbalance the variant split (tests check this with the SRM test).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass

_SCALE = float(1 << 53)


def new_salt() -> str:
    """A fresh random salt for a new experiment (store it; never change it once running)."""
    return secrets.token_hex(8)


def hash_unit(participant_code: str, salt: str, namespace: str) -> float:
    """Map (namespace, salt, participant code) to a uniform number in [0, 1) via sha256."""
    if not isinstance(participant_code, str) or not participant_code:
        raise ValueError("participant_code must be a non-empty string")
    if not isinstance(salt, str) or not salt:
        raise ValueError("salt must be a non-empty string")
    digest = hashlib.sha256(f"attune:{namespace}:{salt}:{participant_code}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / _SCALE


@dataclass(frozen=True)
class WeightedVariant:
    key: str
    weight: float


def _checked_variants(variants: Sequence[WeightedVariant]) -> list[WeightedVariant]:
    if not variants:
        raise ValueError("an experiment needs at least one variant")
    keys = [v.key for v in variants]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate variant keys: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    for v in variants:
        if not v.key:
            raise ValueError("variant keys must be non-empty")
        if not (v.weight > 0 and v.weight < float("inf")):
            raise ValueError(f"variant {v.key!r}: allocation weight must be a positive finite number")
    return sorted(variants, key=lambda v: v.key)


def variant_for(*, participant_code: str, salt: str, variants: Sequence[WeightedVariant]) -> WeightedVariant:
    """The participant's sticky variant in the experiment with this salt."""
    ordered = _checked_variants(variants)
    u = hash_unit(participant_code, salt, "variant")
    total = sum(v.weight for v in ordered)
    upper = 0.0
    for v in ordered:
        upper += v.weight / total
        if u < upper:
            return v
    return ordered[-1]  # u within rounding of 1.0


@dataclass(frozen=True)
class ExperimentSpec:
    id: int
    salt: str
    variants: tuple[WeightedVariant, ...]


@dataclass(frozen=True)
class VariantClaim:
    experiment_id: int
    variant: WeightedVariant
    reason: str  # "prior exposure" or "rendezvous"


def _rendezvous(participant_code: str, candidates: Sequence[ExperimentSpec]) -> ExperimentSpec:
    return max(candidates, key=lambda e: (hash_unit(participant_code, e.salt, "layer"), -e.id))


def choose_experiment(*, participant_code: str, eligible: Sequence[ExperimentSpec],
                      prior_exposures: Collection[int] = ()) -> tuple[ExperimentSpec, str] | None:
    """Which (if any) of the eligible running experiments claims this session, and why."""
    if not eligible:
        return None
    ids = [e.id for e in eligible]
    if len(set(ids)) != len(ids):
        raise ValueError("an experiment is listed twice among the eligible ones")
    exposed = [e for e in eligible if e.id in set(prior_exposures)]
    if exposed:
        return _rendezvous(participant_code, exposed), "prior exposure"
    return _rendezvous(participant_code, eligible), "rendezvous"


def variant_claim(*, participant_code: str, eligible: Sequence[ExperimentSpec],
           prior_exposures: Collection[int] = ()) -> VariantClaim | None:
    """Claim the session for at most one experiment and give the participant's variant in it."""
    chosen = choose_experiment(participant_code=participant_code, eligible=eligible,
                               prior_exposures=prior_exposures)
    if chosen is None:
        return None
    spec, reason = chosen
    variant = variant_for(participant_code=participant_code, salt=spec.salt, variants=spec.variants)
    return VariantClaim(experiment_id=spec.id, variant=variant, reason=reason)
