"""Experiment services: state machine, frozen variants, assignment, exposures, overlap rule."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from studies.experiments import services
from studies.experiments.models import Exposure, Status, Variant
from studies.experiments.variants import variant_claim, variant_for
from studies.listening.hooks import StrategyChoice, choose_strategy, strategy_chooser


def _start_session(user, make_session, mode="personal"):
    """What listening.session_start does with the hook: ask, store the ref, call back."""
    choice = choose_strategy(user=user, mode=mode)
    if choice is None:
        return make_session(user), None
    session = make_session(user, strategy=choice.strategy, strategy_params=choice.params,
                           assignment_ref=choice.assignment_ref)
    choice.on_session_started(session)
    return session, choice


class TestStateMachine:
    def test_cannot_start_with_one_variant(self, make_experiment):
        exp = make_experiment(variants=())
        with pytest.raises(ValidationError, match="at least two variants"):
            services.experiment_start(experiment=exp)
        exp.refresh_from_db()
        assert exp.status == Status.DRAFT and exp.started_at is None

    def test_cannot_start_without_a_control(self, make_experiment):
        exp = make_experiment(control=False, variants=(("a", "iso", 1.0), ("b", "mapping", 1.0)))
        with pytest.raises(ValidationError, match="exactly one control"):
            services.experiment_start(experiment=exp)

    def test_transitions_and_their_errors(self, make_experiment):
        exp = make_experiment()
        with pytest.raises(ValidationError, match="Only a running experiment can be paused"):
            services.experiment_pause(experiment=exp)
        with pytest.raises(ValidationError, match="Only a running or paused"):
            services.experiment_stop(experiment=exp)
        exp = services.experiment_start(experiment=exp)
        assert exp.status == Status.RUNNING and exp.started_at is not None
        first_start = exp.started_at
        with pytest.raises(ValidationError, match="already running"):
            services.experiment_start(experiment=exp)
        exp = services.experiment_pause(experiment=exp)
        assert exp.status == Status.PAUSED
        exp = services.experiment_start(experiment=exp)
        assert exp.status == Status.RUNNING and exp.started_at == first_start
        exp = services.experiment_stop(experiment=exp)
        assert exp.status == Status.STOPPED and exp.stopped_at is not None
        with pytest.raises(ValidationError, match="cannot be restarted"):
            services.experiment_start(experiment=exp)

    def test_second_control_is_refused(self, make_experiment):
        exp = make_experiment()
        with pytest.raises(ValidationError, match="already has a control"):
            services.variant_add_random_control(experiment=exp)

    def test_planned_sample_size_comes_from_the_power_calculation(self, make_experiment):
        from studies.stats import power

        exp = make_experiment(minimum_detectable_effect=0.15, outcome_sd=0.3, alpha=0.05, power=0.8)
        plan = power.plan_experiment(weights=[1.0, 1.0], mde=0.15, sd=0.3, alpha=0.05, power=0.8)
        assert exp.planned_sample_size == plan.total
        assert plan.total > 100  # d = 0.5 needs 64 per arm


class TestFrozenVariants:
    def test_variants_are_frozen_once_started(self, make_experiment):
        exp = make_experiment(start=True)
        variant = exp.variants.get(strategy="iso")
        variant.weight = 5.0
        with pytest.raises(ValidationError, match="frozen"):
            variant.full_clean()
        with pytest.raises(ValidationError, match="frozen"):
            variant.save()
        with pytest.raises(ValidationError, match="frozen"):
            services.variant_add(experiment=exp, name="late", strategy="mapping")
        with pytest.raises(ValidationError, match="frozen"):
            variant.delete()
        assert Variant.objects.get(pk=variant.pk).weight == 1.0
        assert exp.variants.count() == 2

    def test_paused_experiments_stay_frozen(self, make_experiment):
        exp = services.experiment_pause(experiment=make_experiment(start=True))
        with pytest.raises(ValidationError, match="frozen"):
            services.variant_add(experiment=exp, name="late", strategy="mapping")

    def test_bad_variant_input(self, make_experiment):
        exp = make_experiment(control=False, variants=())
        with pytest.raises(ValidationError):
            services.variant_add(experiment=exp, name="x", strategy="not-a-strategy")
        with pytest.raises(ValidationError):
            services.variant_add(experiment=exp, name="x", strategy="iso", weight=0)
        with pytest.raises(ValidationError):
            services.variant_add(experiment=exp, name="x", strategy="iso", params=["not", "a", "dict"])
        services.variant_add(experiment=exp, name="x", strategy="iso")
        with pytest.raises(ValidationError):
            services.variant_add(experiment=exp, name="x", strategy="mapping")  # duplicate name
        assert exp.variants.count() == 1


class TestAssignment:
    def test_the_chooser_is_registered_by_the_app(self):
        assert strategy_chooser() is services.choose_strategy

    def test_sticky_and_matches_the_weights_over_many_codes(self, make_experiment):
        exp = make_experiment(variants=(("iso", "iso", 3.0),), start=True)
        spec = services._spec(exp)
        counts = Counter()
        for i in range(6000):
            code = f"P-{i:08d}"
            first = variant_for(participant_code=code, salt=exp.salt, variants=spec.variants)
            again = variant_for(participant_code=code, salt=exp.salt, variants=spec.variants)
            assert first == again
            counts[first.key] += 1
        iso = exp.variants.get(strategy="iso")
        share = counts[iso.key] / 6000
        assert 0.73 < share < 0.77  # weight 3 : 1

    def test_sticky_across_sessions_and_one_exposure_per_session(self, make_experiment, consenting, make_session):
        exp = make_experiment(start=True)
        user = consenting()
        s1, c1 = _start_session(user, make_session)
        s2, c2 = _start_session(user, make_session)
        assert isinstance(c1, StrategyChoice)
        assert c1.assignment_ref == c2.assignment_ref
        assert c1.strategy == c2.strategy
        exposures = Exposure.objects.filter(experiment=exp)
        assert exposures.count() == 2
        assert {e.session_id for e in exposures} == {s1.pk, s2.pk}
        assert {e.participant_code for e in exposures} == {user.participant_code}
        # the callback running twice for one session records one exposure
        c1.on_session_started(s1)
        assert Exposure.objects.filter(session_id=s1.pk).count() == 1
        ref = services.parse_assignment_ref(s1.assignment_ref)
        assert ref == (exp.pk, exposures.first().variant_id)

    def test_recorded_variant_is_reused(self, make_experiment, consenting, make_session):
        exp = make_experiment(start=True)
        user = consenting()
        s1, c1 = _start_session(user, make_session)
        other = exp.variants.exclude(pk=Exposure.objects.get(session_id=s1.pk).variant_id).get()
        Exposure.objects.filter(session_id=s1.pk).update(variant=other)  # as if recorded under another rule
        _, c2 = _start_session(user, make_session)
        assert c2.assignment_ref == services.assignment_ref(experiment_id=exp.pk, variant_id=other.pk)

    def test_no_consent_no_mode_no_running_experiment(self, make_experiment, make_user, consenting, make_session):
        make_experiment(start=True, eligible_modes="therapy")
        draft = make_experiment()
        assert draft.status == Status.DRAFT
        no_consent = make_user("participant")
        assert choose_strategy(user=no_consent, mode="therapy") is None
        assert choose_strategy(user=consenting(), mode="personal") is None
        assert choose_strategy(user=consenting(), mode="therapy") is not None
        paused = make_experiment(start=True)
        services.experiment_pause(experiment=paused)
        assert services.variant_plan_for(user=consenting(), mode="personal") is None

    def test_overlap_rule_one_experiment_per_session(self, make_experiment, consenting, make_session):
        a = make_experiment(start=True)
        b = make_experiment(start=True)
        users = [consenting() for _ in range(30)]
        claimed = Counter()
        for user in users:
            session, choice = _start_session(user, make_session)
            assert Exposure.objects.filter(session_id=session.pk).count() == 1
            exp_id, _ = services.parse_assignment_ref(choice.assignment_ref)
            claimed[exp_id] += 1
            # sticky: the next session goes to the same experiment
            _, again = _start_session(user, make_session)
            assert services.parse_assignment_ref(again.assignment_ref)[0] == exp_id
            specs = [services._spec(a), services._spec(b)]
            expected = variant_claim(participant_code=user.participant_code, eligible=specs)
            assert expected.experiment_id == exp_id
        assert claimed[a.pk] > 0 and claimed[b.pk] > 0
        assert sum(claimed.values()) == 30
        # starting a third experiment never moves anyone already exposed
        make_experiment(start=True)
        for user in users:
            before = Exposure.objects.filter(user=user).values_list("experiment_id", flat=True).first()
            _, choice = _start_session(user, make_session)
            assert services.parse_assignment_ref(choice.assignment_ref)[0] == before


def test_parse_assignment_ref_rejects_malformed():
    assert services.parse_assignment_ref("experiment:3/variant:9") == (3, 9)
    for bad in (None, "", "x", "experiment:a/variant:1", "experiment:1/other:2", "experiment:1"):
        assert services.parse_assignment_ref(bad) is None


class TestWithinSubject:
    def test_one_variant_is_refused_with_a_message(self, make_experiment):
        exp = make_experiment(variants=(), design="within")
        with pytest.raises(ValidationError, match="within-subject design"):
            services.experiment_start(experiment=exp)
        exp.refresh_from_db()
        assert exp.status == Status.DRAFT and exp.started_at is None
        assert services.experiment_plan(experiment=exp) is None

    def test_sessions_cycle_through_the_variants_in_the_participants_latin_square_order(
            self, make_experiment, consenting, make_session):
        exp = make_experiment(variants=(("iso", "iso", 1.0), ("mapping", "mapping", 1.0)), design="within",
                              sessions_per_participant=6, start=True)
        ids = sorted(exp.variants.values_list("pk", flat=True))
        orders_seen = set()
        for _ in range(4):
            user = consenting()
            order = services.crossover_order(participant_code=user.participant_code, salt=exp.salt, n_variants=3)
            got = []
            for _ in range(6):
                session, choice = _start_session(user, make_session)
                got.append(Exposure.objects.get(session_id=session.pk).variant_id)
            assert got == [ids[i] for i in order] * 2  # every variant, in the participant's order, twice
            orders_seen.add(order)
        assert exp.planned_participants % 6 == 0  # a multiple of the 6 orders of a 3-condition Williams design

    def test_order_groups_are_balanced_over_many_codes(self):
        counts = Counter(services.crossover_order(participant_code=f"P-{i:08d}", salt="abc", n_variants=2)
                         for i in range(4000))
        assert set(counts) == {(0, 1), (1, 0)}
        assert abs(counts[(0, 1)] / 4000 - 0.5) < 0.025
