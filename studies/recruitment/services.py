"""Writes of studies.recruitment: entering a study from a recruitment link, consent, screen-out,
instrument answers, completion, and freezing an experiment's analysis plan.

The recruitment round trip (Prolific, MTurk, SONA):
1. `entry_params(service, query)` validates the service's URL parameters;
2. `enrollment_enter` creates (or, for the same external id, resumes) a pseudonymous account
   with no username or e-mail to type, recognised by HMAC-SHA256(link salt, external id);
3. `enrollment_consent` (research_data consent, optional eligibility statement);
4. `instrument_submit` before the task, the task itself (a listening session of the
   experiment, or ratings in the survey), `instrument_submit` after;
5. `enrollment_complete` -> the completion URL with the completion code, or
   `enrollment_screen_out` -> the screen-out URL with its code. Each step is logged in the
   append-only EntryLog (the payment reconciliation export).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import consent_set
from studies import instruments
from studies.experiments.models import Exposure, PrimaryMetric, SecondaryMetric
from studies.listening.models import ListeningSession, SessionStatus
from studies.recruitment import conf
from studies.recruitment.models import (
    AnalysisPlan,
    Enrollment,
    EnrollmentStatus,
    EntryKind,
    EntryLog,
    InstrumentResponse,
    Phase,
    RecruitmentLink,
    Service,
)
from studies.surveys.models import Rating

# ---------------------------------------------------------------------------------------------
# entry parameters

# Prolific ids are 24 hexadecimal characters (a MongoDB ObjectId); MTurk worker ids start with
# "A" followed by 9–20 capitals or digits; SONA passes a numeric survey code (we also accept
# letters: institutions configure it). Anything else is refused before an account exists.
_ID_PATTERNS = {
    Service.PROLIFIC: re.compile(r"^[0-9a-fA-F]{24}$"),
    Service.MTURK: re.compile(r"^A[A-Z0-9]{9,20}$"),
    Service.SONA: re.compile(r"^[A-Za-z0-9]{1,32}$"),
}
_PARAMS = {  # service -> (participant id, study id, per-visit id)
    Service.PROLIFIC: ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    Service.MTURK: ("workerId", "hitId", "assignmentId"),
    Service.SONA: ("id", "", ""),
}
_OTHER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"


def entry_param_names(service: str) -> tuple[str, ...]:
    """The URL parameters the service adds to the entry link (participant id first)."""
    return tuple(n for n in _PARAMS[Service(service)] if n)


@dataclass(frozen=True)
class EntryParams:
    external_id: str
    study_id: str = ""
    visit_id: str = ""


class EntryRefused(Exception):
    """A recruitment entry that cannot go on; `reason` is a short key, `message` plain words."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        self.message = message
        super().__init__(message)


def entry_params(*, service: str, query: Mapping[str, str]) -> EntryParams:
    """The service's participant id (and study / visit ids) from the entry URL, validated."""
    id_name, study_name, visit_name = _PARAMS[Service(service)]
    external_id = (query.get(id_name) or "").strip()
    if not external_id:
        raise EntryRefused("missing_id", f"This link needs your {Service(service).label.split(' (')[0]} id "
                                         f"(the {id_name} parameter), which the recruitment service adds. "
                                         "Please open the study from the service's page.")
    if not _ID_PATTERNS[Service(service)].fullmatch(external_id):
        raise EntryRefused("malformed_id", f"The {id_name} in this link does not look like a "
                                           f"{Service(service).label.split(' (')[0]} id. Please open the study "
                                           "from the service's page instead of typing the address.")
    values = {}
    for name in (study_name, visit_name):
        raw = (query.get(name) or "").strip() if name else ""
        if raw and not _OTHER_ID.fullmatch(raw):
            raise EntryRefused("malformed_id", f"The {name} in this link is malformed.")
        values[name] = raw
    if service == Service.MTURK and values.get(visit_name) == MTURK_PREVIEW:
        raise EntryRefused("preview", "This is a preview of the HIT. Accept the HIT on MTurk to take part.")
    return EntryParams(external_id=external_id, study_id=values.get(study_name, ""),
                       visit_id=values.get(visit_name, ""))


_BOT_AGENT = re.compile(r"bot|crawl|spider|slurp|preview|facebookexternalhit|python-requests|"
                        r"curl/|wget/|httpclient", re.IGNORECASE)


def looks_like_bot(user_agent: str) -> bool:
    """Link unfurlers, crawlers and scripts: they get a page, never an account."""
    return not user_agent.strip() or bool(_BOT_AGENT.search(user_agent))


def hash_external_id(*, salt: str, external_id: str) -> str:
    """HMAC-SHA256 of the id under the study's salt: the same person is recognised within one
    study, cannot be linked across studies, and the id itself is never stored."""
    return hmac.new(salt.encode(), external_id.strip().encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# enrolment


def _log(*, enrollment: Enrollment, kind: str, code: str = "", detail: str = "") -> EntryLog:
    return EntryLog.objects.create(link_id=enrollment.link_id, enrollment=enrollment,
                                   participant_code=enrollment.participant_code, kind=kind, code=code, detail=detail)


def _new_recruited_user() -> User:
    """A pseudonymous participant with no password to remember: log-in is the link itself."""
    for _ in range(5):
        user = User(username=f"r-{secrets.token_hex(5)}", role=Role.PARTICIPANT)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
            return user
        except IntegrityError:
            continue
    raise RuntimeError("Could not create a unique pseudonym.")


@dataclass(frozen=True)
class EntryResult:
    enrollment: Enrollment
    kind: str  # entered | resumed | replayed


def enrollment_enter(*, link: RecruitmentLink, params: EntryParams) -> EntryResult:
    """Create the enrolment (and account) for this external id, or resume the existing one."""
    if not link.is_open:
        raise EntryRefused("closed", "This study is not taking participants at the moment.")
    digest = hash_external_id(salt=link.salt, external_id=params.external_id)
    with transaction.atomic():
        existing = Enrollment.objects.select_for_update().filter(link=link, external_id_hash=digest).first()
        if existing is not None:
            kind = EntryKind.REPLAYED if existing.is_finished else EntryKind.RESUMED
            _log(enrollment=existing, kind=kind)
            return EntryResult(enrollment=existing, kind=kind)
        user = _new_recruited_user()
        enrollment = Enrollment(link=link, user=user, external_id_hash=digest, participant_code=user.participant_code,
                                service_study_id=params.study_id[:64])
        try:
            with transaction.atomic():
                enrollment.save()
        except IntegrityError:  # the same id entered twice at once: the other request won
            user.delete()
            existing = Enrollment.objects.get(link=link, external_id_hash=digest)
            _log(enrollment=existing, kind=EntryKind.RESUMED)
            return EntryResult(enrollment=existing, kind=EntryKind.RESUMED)
        _log(enrollment=enrollment, kind=EntryKind.ENTERED)
    return EntryResult(enrollment=enrollment, kind=EntryKind.ENTERED)


def _require_active(enrollment: Enrollment) -> None:
    if enrollment.is_finished:
        raise ValidationError("You have already finished this study; nothing more can be recorded.")


def enrollment_consent(*, enrollment: Enrollment, consent: bool, eligible: bool) -> Enrollment:
    """Record the participant's decision. Consent and (if asked) eligibility go on to the study;
    declining either screens the person out (nothing else is stored)."""
    _require_active(enrollment)
    link = enrollment.link
    if not consent:
        return enrollment_screen_out(enrollment=enrollment, reason="no_consent")
    if link.eligibility_statement and not eligible:
        return enrollment_screen_out(enrollment=enrollment, reason="not_eligible")
    with transaction.atomic():
        consent_set(user=enrollment.user, purpose="research_data", granted=True)
        if enrollment.status == EnrollmentStatus.ENTERED:
            enrollment.status = EnrollmentStatus.CONSENTED
            enrollment.consented_at = timezone.now()
            enrollment.save(update_fields=["status", "consented_at"])
            _log(enrollment=enrollment, kind=EntryKind.CONSENTED)
    return enrollment


def enrollment_screen_out(*, enrollment: Enrollment, reason: str) -> Enrollment:
    """Failed eligibility or attention check, or no consent: finished, with the screen-out code."""
    _require_active(enrollment)
    with transaction.atomic():
        enrollment.status = EnrollmentStatus.SCREENED_OUT
        enrollment.screenout_reason = reason[:64]
        enrollment.finished_at = timezone.now()
        enrollment.save(update_fields=["status", "screenout_reason", "finished_at"])
        _log(enrollment=enrollment, kind=EntryKind.SCREENED_OUT, code=enrollment.link.screenout_code, detail=reason)
    return enrollment


def with_code(url: str, code: str) -> str:
    """The service URL carrying the code: `{code}` replaced, else `cc=CODE` added (Prolific's form)."""
    if "{code}" in url:
        return url.replace("{code}", code)
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cc"] + [("cc", code)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def exit_url(enrollment: Enrollment) -> str | None:
    link = enrollment.link
    if enrollment.status == EnrollmentStatus.COMPLETED:
        return with_code(link.completion_url, link.completion_code)
    if enrollment.status == EnrollmentStatus.SCREENED_OUT:
        return with_code(link.screenout_url, link.screenout_code)
    return None


# ---------------------------------------------------------------------------------------------
# instruments


def instrument_submit(*, enrollment: Enrollment, instrument: str, phase: str, answers: Mapping[str, Any],
                      session_id: int | None = None) -> InstrumentResponse:
    """Score and store one instrument answer of a recruited participant (once per phase)."""
    _require_active(enrollment)
    if enrollment.status != EnrollmentStatus.CONSENTED:
        raise ValidationError("Consent comes first: instrument answers are stored only after consent.")
    if phase not in Phase.values:
        raise ValidationError(f"Unknown phase {phase!r}; expected pre or post.")
    planned = enrollment.link.pre_instruments if phase == Phase.PRE else enrollment.link.post_instruments
    if instrument not in planned:
        raise ValidationError(f"This study does not ask {instrument!r} {Phase(phase).label.lower()} the task.")
    return response_record(user=enrollment.user, instrument=instrument, phase=phase, answers=answers,
                           enrollment=enrollment, session_id=session_id)


def response_record(*, user: Any, instrument: str, phase: str, answers: Mapping[str, Any],
                    enrollment: Enrollment | None = None, session_id: int | None = None) -> InstrumentResponse:
    """Score and store one instrument answer (any caller: recruitment, a therapist assignment)."""
    try:
        inst = conf.instrument(instrument)
        scores = instruments.score(inst, answers)
    except instruments.InstrumentError as exc:
        raise ValidationError(list(exc.problems)) from None
    clean = {k: float(answers[k]) if not inst.integer else int(float(answers[k])) for k in inst.item_keys}
    response = InstrumentResponse(user=user, participant_code=user.participant_code, enrollment=enrollment,
                                  session_id=session_id, instrument=instrument, phase=phase, answers=clean,
                                  scores=scores)
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        raise ValidationError(f"{inst.name} has already been answered {Phase(phase).label.lower()} the task.") from None
    return response


# ---------------------------------------------------------------------------------------------
# the task and completion


@dataclass(frozen=True)
class NextStep:
    """Where the participant is in the study: consent, pre:<key>, task, post:<key>, finish, done."""

    step: str
    instrument: str = ""


def task_session_id(enrollment: Enrollment) -> int | None:
    """Experiment studies: the participant's first completed listening session, after consent,
    that the experiment exposed. None while there is none."""

    if enrollment.task_session_id:
        return enrollment.task_session_id
    exposed = Exposure.objects.filter(experiment_id=enrollment.link.experiment_id, user_id=enrollment.user_id)
    session = (ListeningSession.objects.filter(user_id=enrollment.user_id, status=SessionStatus.COMPLETED,
                                               created_at__gte=enrollment.consented_at,
                                               pk__in=exposed.values("session_id"))
               .order_by("created_at", "id").first())
    return session.pk if session else None


def survey_ratings_done(enrollment: Enrollment) -> int:

    return Rating.objects.filter(survey_id=enrollment.link.survey_id, user_id=enrollment.user_id).count()


def task_done(enrollment: Enrollment) -> bool:
    if enrollment.link.experiment_id:
        return task_session_id(enrollment) is not None
    return survey_ratings_done(enrollment) >= enrollment.link.min_survey_ratings


def next_step(enrollment: Enrollment) -> NextStep:
    if enrollment.is_finished:
        return NextStep("done")
    if enrollment.status == EnrollmentStatus.ENTERED:
        return NextStep("consent")
    answered = set(enrollment.responses.values_list("phase", "instrument"))
    for key in enrollment.link.pre_instruments:
        if (Phase.PRE, key) not in answered:
            return NextStep("pre", key)
    if not task_done(enrollment):
        return NextStep("task")
    for key in enrollment.link.post_instruments:
        if (Phase.POST, key) not in answered:
            return NextStep("post", key)
    return NextStep("finish")


def enrollment_attach_session(*, enrollment: Enrollment) -> int | None:
    """Record which listening session was the task and tag the enrolment's answers with it, so
    the pre/post change is a per-session measure (instrument_change_by_session)."""
    if not enrollment.link.experiment_id:
        return None
    session_id = task_session_id(enrollment)
    if session_id is not None and enrollment.task_session_id != session_id:
        with transaction.atomic():
            enrollment.task_session_id = session_id
            enrollment.save(update_fields=["task_session_id"])
            InstrumentResponse.objects.filter(enrollment=enrollment, session_id__isnull=True).update(
                session_id=session_id)
    return session_id


def enrollment_complete(*, enrollment: Enrollment) -> str:
    """Every step done -> completed, logged with the completion code; returns the completion URL."""
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().select_related("link").get(pk=enrollment.pk)
        if enrollment.status == EnrollmentStatus.COMPLETED:
            return exit_url(enrollment)  # type: ignore[return-value]
        _require_active(enrollment)
        step = next_step(enrollment)
        if step.step != "finish":
            raise ValidationError(f"The study is not finished yet (next: {step.step} {step.instrument}).".strip())
        enrollment_attach_session(enrollment=enrollment)
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.finished_at = timezone.now()
        enrollment.save(update_fields=["status", "finished_at"])
        _log(enrollment=enrollment, kind=EntryKind.COMPLETED, code=enrollment.link.completion_code)
    return exit_url(enrollment)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# the instrument change as an experiment metric


def instrument_pre_post_by_session(*, session_ids: Iterable[int], metric: str) -> dict[int, tuple[float, float]]:
    """Per listening session, (pre, post) scores of the scale named by a metric
    "instrument:<instrument>:<scale>" (studies.instruments.metric_choices), from consenting
    participants only. Sessions without both answers are left out; the first answer counts."""
    parsed = instruments.parse_metric(metric)
    if parsed is None:
        raise ValueError(f"{metric!r} is not an instrument metric (instrument:<instrument>:<scale>).")
    inst, scale = parsed
    ids = list(session_ids)
    pre: dict[int, float] = {}
    post: dict[int, float] = {}
    rows = (InstrumentResponse.objects.filter(session_id__in=ids, instrument=inst.key,
                                              user__consents__purpose="research_data", user__consents__granted=True)
            .order_by("created_at", "id").values_list("session_id", "phase", "scores"))
    for session_id, phase, scores in rows.iterator():
        value = scores.get(scale.key)
        if value is not None:
            (pre if phase == Phase.PRE else post).setdefault(session_id, float(value))
    return {sid: (pre[sid], post[sid]) for sid in ids if sid in pre and sid in post}


def instrument_change_by_session(*, session_ids: Iterable[int], metric: str) -> dict[int, float]:
    """Per listening session, the instrument change post − pre (the raw change; the scale's
    direction, instruments.Direction, says whether a negative change is an improvement)."""
    return {sid: post - pre
            for sid, (pre, post) in instrument_pre_post_by_session(session_ids=session_ids, metric=metric).items()}


# ---------------------------------------------------------------------------------------------
# frozen analysis plan


def plan_document(experiment: Any) -> dict[str, Any]:
    """The experiment's design as a JSON-ready plan (what a pre-registration would state)."""

    metric_labels = {**dict(PrimaryMetric.choices), **dict(SecondaryMetric.choices),
                     **dict(instruments.metric_choices())}

    def metric(name: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "label": metric_labels.get(name, name)}
        parsed = instruments.parse_metric(name)
        if parsed is not None:
            inst, scale = parsed
            out.update({"instrument": inst.key, "scale": scale.key, "direction": str(scale.direction),
                        "reference": inst.reference, "definition": "post − pre, per session"})
        return out

    variants = list(experiment.variants.all().order_by("id"))
    total_weight = sum(v.weight for v in variants) or 1.0
    links = list(experiment.recruitment_links.all().order_by("id")) if experiment.pk else []
    return {
        "schema": 1,
        "experiment": {"id": experiment.pk, "name": experiment.name},
        "hypotheses": {"null": experiment.hypothesis_null, "alternative": experiment.hypothesis_alt},
        "eligible_modes": experiment.eligible_modes,
        "variants": [{"id": v.pk, "name": v.name, "strategy": v.strategy, "params": v.params, "weight": v.weight,
                      "allocation": v.weight / total_weight, "is_control": v.is_control} for v in variants],
        "allocation": "sticky hash of participant code and experiment salt into the weighted variants",
        "primary_metric": metric(experiment.primary_metric),
        "secondary_metrics": [metric(m) for m in experiment.secondary_metrics or []],
        "instruments": sorted({k for link in links for k in [*link.pre_instruments, *link.post_instruments]}),
        "alpha": experiment.alpha,
        "minimum_detectable_effect": experiment.minimum_detectable_effect,
        "assumed_sd": experiment.outcome_sd,
        "power": experiment.power,
        "planned_sample_size": experiment.planned_sample_size,
        "design": experiment.design,
        "unit_of_analysis": "participant (sessions clustered on the participant, CR2 standard errors)",
        "assumed_icc": experiment.assumed_icc,
        "sessions_per_participant": experiment.sessions_per_participant,
        "planned_participants": experiment.planned_participants,
        "stopping_rule": ("Fixed sample: analyse at the planned number of participants; interim looks use the "
                          "always-valid mSPRT p-value (participant-clustered), so stopping earlier is allowed only "
                          "when it rejects H0."),
        "exclusion_rules": ["participants who withdraw the research_data consent are excluded from every analysis",
                            "sessions without a value of the metric (e.g. no post answer) are left out"],
        "started_at": experiment.started_at.isoformat() if experiment.started_at else None,
    }


def canonical_json(plan: Mapping[str, Any]) -> str:
    return json.dumps(plan, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def analysis_plan_freeze(experiment: Any) -> AnalysisPlan:
    """Store the plan once, at the first start (idempotent: a later call returns the first)."""
    existing = AnalysisPlan.objects.filter(experiment_id=experiment.pk).first()
    if existing is not None:
        return existing
    plan = plan_document(experiment)
    digest = hashlib.sha256(canonical_json(plan).encode()).hexdigest()
    try:
        with transaction.atomic():
            return AnalysisPlan.objects.create(experiment=experiment, plan=plan, content_hash=digest)
    except IntegrityError:
        return AnalysisPlan.objects.get(experiment_id=experiment.pk)


def plan_deviations(
    *, plan: AnalysisPlan, experiment: Any, analysed_sessions: int | None = None, analysed_participants: int | None = None
) -> list[str]:
    """What differs between the frozen plan and the experiment now (empty when nothing does)."""
    out = []
    if hashlib.sha256(canonical_json(plan.plan).encode()).hexdigest() != plan.content_hash:
        out.append("The stored plan no longer matches its content hash.")
    now = plan_document(experiment)
    for key in ("hypotheses", "primary_metric", "secondary_metrics", "alpha", "minimum_detectable_effect"):
        if now[key] != plan.plan.get(key):
            out.append(f"{key.replace('_', ' ')} differs from the frozen plan.")
    planned_ids = {v["id"] for v in plan.plan.get("variants", [])}
    added = [v["name"] for v in now["variants"] if v["id"] not in planned_ids]
    if added:
        out.append(f"Variant(s) added after the start: {', '.join(added)}.")
    stopped = experiment.status == "stopped"
    people = plan.plan.get("planned_participants")
    planned = plan.plan.get("planned_sample_size")
    if stopped and people and analysed_participants is not None and analysed_participants < people:
        out.append(f"Stopped at {analysed_participants} of the {people} planned participants (before the planned size).")
    elif stopped and not people and planned and analysed_sessions is not None and analysed_sessions < planned:
        out.append(f"Stopped at {analysed_sessions} of the {planned} planned sessions (before the planned size).")
    return out


def study_pin(user: Any) -> int | None:
    """The experiment of the study this person entered through a link and has not finished (the
    most recent, if several), so that study alone claims their listening sessions."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (Enrollment.objects.filter(user=user, link__experiment__isnull=False, status__in=[
        EnrollmentStatus.ENTERED, EnrollmentStatus.CONSENTED]).order_by("-id").values_list(
            "link__experiment_id", flat=True).first())


def open_enrollments_panel(request) -> dict[str, Any]:
    """The participant's dashboard panel: studies entered and not finished yet."""
    return {"enrollments": list(Enrollment.objects.filter(user=request.user, status__in=[
        EnrollmentStatus.ENTERED, EnrollmentStatus.CONSENTED]).select_related("link"))}


# ---------------------------------------------------------------------------------------------
# the person's own data (accounts.privacy sections)


def responses_export(user: Any) -> list[dict[str, Any]]:
    return [{"instrument": r.instrument, "phase": r.phase, "answers": r.answers, "scores": r.scores,
             "session_id": r.session_id, "at": r.created_at.isoformat()}
            for r in InstrumentResponse.objects.filter(user=user).order_by("created_at", "id")]


def responses_erase(user: Any) -> int:
    return InstrumentResponse.objects.filter(user=user).delete()[0]


def enrollments_export(user: Any) -> list[dict[str, Any]]:
    return [{"study": e.link.name, "status": e.status, "entered": e.created_at.isoformat(),
             "finished": e.finished_at.isoformat() if e.finished_at else None}
            for e in Enrollment.objects.filter(user=user).select_related("link")]


def enrollments_erase(user: Any) -> int:
    """The hashed external id links this account to a recruitment-service account: it goes
    whatever the research consent (the log keeps the participant code and the codes paid)."""
    return Enrollment.objects.filter(user=user).delete()[0]
