"""Writes on experiments: variants, state transitions, which variant a session gets, analysis runs.

Variants follow studies/experiments/variants.py: a participant's variant is a hash of their code and
the experiment's salt into the weighted variants (sticky), and when several running experiments
could take a session, the sticky rendezvous rule picks at most one. The choice is recorded as an
`Exposure` in the same transaction that starts the listening session (via the hook in
studies/listening/hooks.py), and analysis only ever reads exposures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import has_consent
from recommender.engine.types import State
from recommender.services.playlists import playlist_create
from studies.experiments import analysis, conf, hooks
from studies.experiments.models import (
    AnalysisResult,
    Experiment,
    Exposure,
    Status,
    Variant,
)
from studies.experiments.selectors import analysable_exposures
from studies.experiments.variants import ExperimentSpec, WeightedVariant, hash_unit, variant_claim
from studies.listening.hooks import StrategyChoice
from studies.listening.selectors import session_outcomes
from studies.stats.cluster import latin_square_orders
from studies.stats.power import ParticipantPlan, plan_crossover, plan_participants

logger = logging.getLogger(__name__)

REF_PREFIX = "experiment:"


# ---------------------------------------------------------------------------------------------
# assignment refs ("experiment:<id>/variant:<id>", stored on the listening session)


def assignment_ref(*, experiment_id: int, variant_id: int) -> str:
    return f"experiment:{experiment_id}/variant:{variant_id}"


def parse_assignment_ref(ref: str | None) -> tuple[int, int] | None:
    """(experiment id, variant id) from a session's assignment_ref, or None if it is not ours."""
    if not ref or not ref.startswith(REF_PREFIX):
        return None
    try:
        exp_part, var_part = ref.split("/", 1)
        exp_id = int(exp_part.removeprefix("experiment:"))
        if not var_part.startswith("variant:"):
            return None
        return exp_id, int(var_part.removeprefix("variant:"))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# experiments and variants


def experiment_plan(*, experiment: Experiment, weights: list[float] | None = None,
                    control_index: int | None = None) -> ParticipantPlan | None:
    """The power calculation for this experiment's design, in participants (None while fewer than
    two variants): the assumed ICC and expected sessions per participant give the design effect
    (between-subject) or the paired variance (within-subject)."""
    variants = list(experiment.variants.all()) if experiment.pk else []
    if weights is None:
        weights = [v.weight for v in variants]
        if control_index is None:
            control_index = next((i for i, v in enumerate(variants) if v.is_control), 0)
    if len(weights) < 2:
        return None
    return plan_for(design=experiment.design, weights=weights, mde=experiment.minimum_detectable_effect,
                    sd=experiment.outcome_sd, alpha=experiment.alpha, power=experiment.power,
                    icc=experiment.assumed_icc, sessions_per_participant=experiment.sessions_per_participant,
                    control_index=control_index or 0)


def plan_for(*, design: str, weights: list[float], mde: float, sd: float, alpha: float, power: float, icc: float,
             sessions_per_participant: float, control_index: int = 0) -> ParticipantPlan:
    """The participant plan for a between- or within-subject design (raises ValueError with a message)."""
    if design == "within":
        return plan_crossover(n_variants=len(weights), mde=mde, sd=sd, alpha=alpha, power=power, icc=icc,
                                    sessions_per_participant=sessions_per_participant)
    return plan_participants(weights=weights, mde=mde, sd=sd, alpha=alpha, power=power, icc=icc,
                                   sessions_per_participant=sessions_per_participant, control_index=control_index)


def experiment_refresh_plan(*, experiment: Experiment) -> Experiment:
    """Store the planned participants and expected sessions from the power calculation."""
    try:
        plan = experiment_plan(experiment=experiment)
    except ValueError:
        plan = None
    people = plan.participants if plan is not None else None
    sessions = plan.sessions if plan is not None else None
    if experiment.planned_participants != people or experiment.planned_sample_size != sessions:
        experiment.planned_participants = people
        experiment.planned_sample_size = sessions
        experiment.save(update_fields=["planned_participants", "planned_sample_size"])
    return experiment


def experiment_create(*, name: str, hypothesis_null: str, hypothesis_alt: str, eligible_modes: str = "any",
                      primary_metric: str = "shift_toward_target", secondary_metrics: list[str] | None = None,
                      alpha: float = 0.05, minimum_detectable_effect: float = 0.1, outcome_sd: float = 0.3,
                      power: float = 0.8, design: str = "between", assumed_icc: float = 0.3,
                      sessions_per_participant: float = 1.0) -> Experiment:
    experiment = Experiment(name=name, hypothesis_null=hypothesis_null, hypothesis_alt=hypothesis_alt,
                            eligible_modes=eligible_modes, primary_metric=primary_metric,
                            secondary_metrics=list(secondary_metrics or []), alpha=alpha,
                            minimum_detectable_effect=minimum_detectable_effect, outcome_sd=outcome_sd, power=power,
                            design=design, assumed_icc=assumed_icc, sessions_per_participant=sessions_per_participant)
    experiment.full_clean()
    experiment.save()
    return experiment


def _require_editable(experiment: Experiment) -> None:
    if experiment.has_started:
        raise ValidationError(
            f"Variants of {experiment.name!r} are frozen: the experiment has been started "
            f"(status {experiment.get_status_display().lower()}). Create a new experiment to compare other variants."
        )


def variant_add(*, experiment: Experiment, name: str, strategy: str, params: dict[str, Any] | None = None,
                weight: float = 1.0, is_control: bool = False) -> Variant:
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        _require_editable(experiment)
        if is_control and experiment.variants.filter(is_control=True).exists():
            raise ValidationError("This experiment already has a control variant.")
        variant = Variant(experiment=experiment, name=name, strategy=strategy, params=params or {}, weight=weight,
                          is_control=is_control)
        variant.full_clean()
        variant.save()
        experiment_refresh_plan(experiment=experiment)
    return variant


def variant_add_random_control(*, experiment: Experiment, weight: float = 1.0) -> Variant:
    """The one-click control: the engine's `random` strategy, marked as the control arm."""
    return variant_add(experiment=experiment, name="random (control)", strategy="random", params={}, weight=weight,
                       is_control=True)


def experiment_preflight(*, experiment: Experiment, by: Any) -> list[str]:
    """Build one short playlist per variant, as a session would, and throw it away.

    A variant the engine cannot serve (no GAN trained, parameters it rejects, an empty catalog)
    would otherwise make every eligible participant's session fail once the experiment runs.
    Returns the problems, one line per failing variant (empty when all variants work)."""

    problems = []
    for variant in experiment.variants.all():
        try:
            with transaction.atomic():
                playlist_create(owner=by, strategy=variant.strategy, start=State.from_va(-0.5, -0.4),
                                target=State.from_va(0.5, 0.3), n_tracks=3, params=dict(variant.params), seed=0,
                                title="experiment pre-flight (rolled back)")
                transaction.set_rollback(True)
        except ValidationError as exc:
            problems.append(f"variant {variant.name!r} ({variant.strategy}): {'; '.join(exc.messages)}")
    return problems


def experiment_start(*, experiment: Experiment, by: Any = None) -> Experiment:
    """draft or paused -> running. Freezes the variants from the first start on.

    With ``by`` (the researcher starting it from the admin) every variant is first tried once
    on the catalog (experiment_preflight), and a variant that cannot build a playlist blocks
    the start with the engine's message."""
    if by is not None and experiment.status == Status.DRAFT:
        problems = experiment_preflight(experiment=experiment, by=by)
        if problems:
            raise ValidationError([f"{experiment.name!r} cannot start: {p}" for p in problems])
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status == Status.RUNNING:
            raise ValidationError(f"{experiment.name!r} is already running.")
        if experiment.status == Status.STOPPED:
            raise ValidationError(f"{experiment.name!r} has been stopped; a stopped experiment cannot be restarted "
                                  "(its analysis is final). Create a new one.")
        variants = list(experiment.variants.all())
        if len(variants) < 2:
            if experiment.design == "within":
                raise ValidationError(f"{experiment.name!r} is a within-subject design: each participant's sessions "
                                      f"cycle through the variants, so it needs at least two variants "
                                      f"(it has {len(variants)}).")
            raise ValidationError(f"{experiment.name!r} needs at least two variants to start (it has {len(variants)}).")
        if sum(v.is_control for v in variants) != 1:
            raise ValidationError(f"{experiment.name!r} needs exactly one control variant to start "
                                  "(use “Add a random control” for the engine's random strategy).")
        now = timezone.now()
        experiment.status = Status.RUNNING
        fields = ["status"]
        if experiment.started_at is None:
            experiment.started_at = now
            fields.append("started_at")
        experiment.save(update_fields=fields)
    experiment_refresh_plan(experiment=experiment)
    if "started_at" in fields:  # the first start: freeze the analysis plan (studies.recruitment)
        hooks.experiment_first_started(experiment)
    return experiment


def experiment_pause(*, experiment: Experiment) -> Experiment:
    """running -> paused: no new sessions are assigned; exposures so far stay."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status != Status.RUNNING:
            raise ValidationError(f"Only a running experiment can be paused; {experiment.name!r} is "
                                  f"{experiment.get_status_display().lower()}.")
        experiment.status = Status.PAUSED
        experiment.save(update_fields=["status"])
    return experiment


def experiment_stop(*, experiment: Experiment) -> Experiment:
    """running or paused -> stopped (final)."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status not in (Status.RUNNING, Status.PAUSED):
            raise ValidationError(f"Only a running or paused experiment can be stopped; {experiment.name!r} is "
                                  f"{experiment.get_status_display().lower()}.")
        experiment.status = Status.STOPPED
        experiment.stopped_at = timezone.now()
        experiment.save(update_fields=["status", "stopped_at"])
    return experiment


# ---------------------------------------------------------------------------------------------
# assignment of sessions


def _spec(experiment: Experiment) -> ExperimentSpec:
    return ExperimentSpec(
        id=experiment.pk, salt=experiment.salt,
        variants=tuple(WeightedVariant(key=v.key, weight=v.weight) for v in experiment.variants.all()))


def eligible_experiments(*, user: Any, mode: str) -> list[Experiment]:
    """Running experiments this person may enter now: mode matches and research_data consent is on."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "participant_code", ""):
        return []
    if not has_consent(user, "research_data"):
        return []
    running = Experiment.objects.filter(status=Status.RUNNING).prefetch_related("variants").order_by("id")
    pinned = hooks.pinned_experiment_id(user)
    if pinned is not None:  # recruited for one study: only that study may claim the session
        running = running.filter(pk=pinned)
    return [e for e in running if e.accepts_mode(mode) and e.variants.all()]


@dataclass(frozen=True)
class PlannedVariant:
    experiment: Experiment
    variant: Variant
    reason: str

    @property
    def ref(self) -> str:
        return assignment_ref(experiment_id=self.experiment.pk, variant_id=self.variant.pk)


def variant_plan_for(*, user: Any, mode: str) -> PlannedVariant | None:
    """Which experiment (at most one) claims a new session of this person, and which variant.

    Sticky: if the person already has an exposure in the claiming experiment, that recorded
    variant is reused (the oTree rule: assignment is decided once, never recomputed differently).
    """
    eligible = eligible_experiments(user=user, mode=mode)
    if not eligible:
        return None
    prior = set(Exposure.objects.filter(user=user, experiment__in=eligible).values_list("experiment_id", flat=True))
    chosen = variant_claim(participant_code=user.participant_code, eligible=[_spec(e) for e in eligible],
                            prior_exposures=prior)
    if chosen is None:
        return None
    experiment = next(e for e in eligible if e.pk == chosen.experiment_id)
    if experiment.design == "within":
        return PlannedVariant(experiment=experiment, variant=crossover_variant(experiment=experiment, user=user),
                                 reason=chosen.reason)
    variants = {v.key: v for v in experiment.variants.all()}
    variant = variants[chosen.variant.key]
    if chosen.experiment_id in prior:
        first = (Exposure.objects.filter(user=user, experiment=experiment).select_related("variant")
                 .order_by("created_at", "id").first())
        if first is not None:
            variant = first.variant
    return PlannedVariant(experiment=experiment, variant=variant, reason=chosen.reason)


def crossover_order(*, participant_code: str, salt: str, n_variants: int) -> tuple[int, ...]:
    """The participant's order of the variants (indices into the variants sorted by id) in a
    within-subject experiment: a row of Williams' balanced Latin square
    (studies.stats.cluster.latin_square_orders) chosen by a hash of the participant code and the
    experiment's salt, so it is deterministic, needs no stored state, and spreads participants
    evenly over the rows (checked by the order-group SRM on the results page)."""
    orders = latin_square_orders(n_variants)
    u = hash_unit(participant_code, salt, "crossover")
    return orders[min(int(u * len(orders)), len(orders) - 1)]


def crossover_variant(*, experiment: Experiment, user: Any) -> Variant:
    """The variant of this person's next session in a within-subject experiment: their sessions
    cycle through the variants in their Latin-square order (session k gets order[k mod K])."""
    variants = sorted(experiment.variants.all(), key=lambda v: v.pk)
    if len(variants) < 2:
        raise ValidationError(f"{experiment.name!r} is a within-subject design with {len(variants)} variant(s); "
                              "it needs at least two.")
    order = crossover_order(participant_code=user.participant_code, salt=experiment.salt, n_variants=len(variants))
    done = Exposure.objects.filter(user=user, experiment=experiment).count()
    return variants[order[done % len(variants)]]


def exposure_record(*, planned: PlannedVariant, user: Any, session_id: int) -> Exposure:
    """Record that this session was assigned (once per session: a repeat returns the first record)."""
    existing = Exposure.objects.filter(session_id=session_id).first()
    if existing is not None:
        if existing.experiment_id != planned.experiment.pk or existing.user_id != user.pk:
            raise ValidationError(f"Session {session_id} is already exposed in another experiment.")
        return existing
    exposure = Exposure(experiment=planned.experiment, variant=planned.variant, user=user, session_id=session_id,
                        participant_code=user.participant_code, reason=planned.reason)
    exposure.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            exposure.save()
    except IntegrityError:
        return Exposure.objects.get(session_id=session_id)
    return exposure


def choose_strategy(*, user: Any, mode: str):
    """The strategy chooser registered with studies.listening.hooks (see apps.py)."""

    planned = variant_plan_for(user=user, mode=mode)
    if planned is None:
        return None

    def on_session_started(session) -> None:
        exposure_record(planned=planned, user=user, session_id=session.pk)

    return StrategyChoice(strategy=planned.variant.strategy, params=dict(planned.variant.params),
                          assignment_ref=planned.ref, on_session_started=on_session_started)


# ---------------------------------------------------------------------------------------------
# analysis


def analysis_compute(*, experiment: Experiment) -> AnalysisResult:
    """Analyse the exposed sessions now and store the snapshot (numbers, verdicts, plots)."""

    experiment = Experiment.objects.prefetch_related("variants").get(pk=experiment.pk)
    exposures = list(analysable_exposures(experiment=experiment).values_list("session_id", "variant_id",
                                                                              "participant_code"))
    outcomes = session_outcomes(session_ids=[e[0] for e in exposures]) if exposures else []
    outcomes = hooks.outcomes_with_metrics(outcomes, metrics=[experiment.primary_metric,
                                                              *(experiment.secondary_metrics or [])])
    variant_of = {e[0]: e[1] for e in exposures}
    participants: dict[int, set[str]] = {}
    for _, variant_id, code in exposures:
        participants.setdefault(variant_id, set()).add(code)
    design = analysis.Design.of(experiment, bootstrap_resamples=conf.BOOTSTRAP_RESAMPLES,
                                max_looks=conf.SEQUENTIAL_LOOKS)
    result = analysis.analyse(design=design, outcomes=outcomes, variant_of=variant_of,
                              participants={k: len(v) for k, v in participants.items()})
    with transaction.atomic():
        snapshot = AnalysisResult(experiment=experiment, result=result)
        snapshot.save()
        stale = (AnalysisResult.objects.filter(experiment=experiment).order_by("-computed_at", "-id")
                 .values_list("id", flat=True)[conf.SNAPSHOTS_KEPT:])
        AnalysisResult.objects.filter(id__in=list(stale)).delete()
    return snapshot


# ---------------------------------------------------------------------------------------------
# the person's own data (accounts.privacy section)


def exposures_export(user: Any) -> list[dict[str, Any]]:
    """Which experiments assigned which of the person's sessions, for their data export."""
    return [{"experiment": e.experiment.name, "variant": e.variant.name, "strategy": e.variant.strategy,
             "session_id": e.session_id, "assigned_at": e.created_at.isoformat()}
            for e in Exposure.objects.filter(user=user).select_related("experiment", "variant").order_by("created_at")]


def exposures_erase(user: Any) -> int:
    """Erasure without research consent: the person's exposures go with their sessions."""
    deleted, _ = Exposure.objects.filter(user=user).delete()
    return deleted
