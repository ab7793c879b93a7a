"""Pages of the recruitment round trip: entry, consent, instruments, task, finish; the plan page.

Thin: parse, authorize (the logged-in person must be the link's enrolled participant), call
the services, render."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import wraps
from urllib.parse import urlsplit

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.throttling import SimpleRateThrottle

from studies.experiments.selectors import analysable_exposures
from studies.recruitment import conf, services
from studies.recruitment.models import AnalysisPlan, Enrollment, Phase, RecruitmentLink
from studies.recruitment.sam import manikin_svg


class EntryThrottle(SimpleRateThrottle):
    """The project's rate limiting (DRF throttles on the cache) applied to the entry page, per IP."""

    scope = "recruitment_entry"

    def get_rate(self) -> str:
        return conf.ENTRY_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _refused(request: HttpRequest, link: RecruitmentLink | None, reason: str, message: str, status: int) -> HttpResponse:
    return render(request, "recruitment/refused.html", {"link": link, "reason": reason, "message": message},
                  status=status)


def _link_or_404(token: str) -> RecruitmentLink:
    link = RecruitmentLink.objects.select_related("experiment", "survey").filter(token=token).first()
    if link is None:
        raise Http404(gettext("No such study link."))
    return link


def forms_may_lead_to_study_service(view):
    """The site's CSP (form-action 'self') also governs where a form's redirects may go, and
    these pages' forms end at the recruitment service (completion or screen-out URL): each of
    them allows exactly the origins of its link's two URLs."""

    @wraps(view)
    def wrapped(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        response = view(request, token, *args, **kwargs)
        link = RecruitmentLink.objects.filter(token=token).only("completion_url", "screenout_url").first()
        if link is not None:
            origins = sorted({f"{p.scheme}://{p.netloc}" for p in map(urlsplit, (link.completion_url, link.screenout_url))
                              if p.scheme in ("http", "https") and p.netloc})
            if origins:
                response._csp_update = {"form-action": origins}  # read by django-csp's middleware
        return response

    return wrapped


@forms_may_lead_to_study_service
@never_cache
@require_http_methods(["GET", "POST"])
def entry_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a start page (link unfurlers and prefetchers create nothing); POST enters."""
    throttle = EntryThrottle()
    if not throttle.allow_request(request, None):
        return _refused(request, None, "rate_limited", gettext("Too many attempts from your network. Please wait a minute "
                        "and open the study link again."), 429)
    link = _link_or_404(token)
    if services.looks_like_bot(request.META.get("HTTP_USER_AGENT", "")):
        return _refused(request, link, "bot", gettext("This study link is for people taking part through the recruitment "
                        "service; automated visitors cannot enter."), 403)
    query = request.POST if request.method == "POST" else request.GET
    try:
        params = services.entry_params(service=link.service, query=query)
        if request.method == "GET":
            if not link.is_open:
                raise services.EntryRefused("closed", "This study is not taking participants at the moment.")
            return render(request, "recruitment/entry.html", {"link": link, "hidden": [
                (n, query.get(n, "")) for n in services.entry_param_names(link.service)]})
        result = services.enrollment_enter(link=link, params=params)
    except services.EntryRefused as exc:
        return _refused(request, link, exc.reason, exc.message, 400 if exc.reason != "closed" else 403)
    enrollment = result.enrollment
    if request.user.is_authenticated and request.user.pk != enrollment.user_id:
        logout(request)
    if result.kind == "replayed":
        return render(request, "recruitment/replayed.html",
                      {"link": link, "enrollment": enrollment, "exit_url": services.exit_url(enrollment)})
    login(request, enrollment.user, backend="accounts.auth_backends.ModelBackend")
    return redirect("recruitment:study", token=link.token)


def participant_required(view):
    """Recruited participants have no password: when their log-in has lapsed, the way back is
    the study link from the recruitment service, not the log-in page."""
    from functools import wraps

    @wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return _refused(request, None, "signed_out", gettext("Your visit has ended. Please open the study again from "
                            "the recruitment service's page: you will continue where you left off."), 403)
        return view(request, token, *args, **kwargs)

    return wrapper


def _enrollment(request: HttpRequest, link: RecruitmentLink) -> Enrollment:
    enrollment = Enrollment.objects.select_related("link", "user").filter(link=link, user=request.user).first()
    if enrollment is None:
        raise PermissionDenied(gettext("You are not enrolled in this study; open it from the recruitment service's page."))
    return enrollment


@forms_may_lead_to_study_service
@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def study_view(request: HttpRequest, token: str) -> HttpResponse:
    """Where the participant stands: consent, an instrument, the task, or the end."""
    link = _link_or_404(token)
    enrollment = _enrollment(request, link)
    step = services.next_step(enrollment)
    if step.step == "done":
        return HttpResponseRedirect(services.exit_url(enrollment))
    if step.step == "consent":
        error = ""
        if request.method == "POST":
            try:
                enrollment = services.enrollment_consent(enrollment=enrollment, consent=request.POST.get("consent") == "yes",
                                                         eligible=request.POST.get("eligible") == "yes")
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if enrollment.is_finished:
                    return HttpResponseRedirect(services.exit_url(enrollment))
                return redirect("recruitment:study", token=link.token)
        return render(request, "recruitment/consent.html", {"link": link, "error": error},
                      status=400 if error else 200)
    if step.step in ("pre", "post"):
        return redirect("recruitment:instrument", token=link.token, phase=step.step, key=step.instrument)
    if step.step == "task":
        context = {"link": link, "enrollment": enrollment}
        if link.experiment_id:
            context["task_url"] = reverse("listening:session-new")
        else:
            context["task_url"] = reverse("surveys:survey-take", args=[link.survey_id])
            context["ratings_done"] = services.survey_ratings_done(enrollment)
        return render(request, "recruitment/task.html", context)
    return render(request, "recruitment/finish.html", {"link": link, "enrollment": enrollment})


def _shown(text: str) -> str:
    return gettext(text) if text else ""


def _translated(inst):
    """The instrument as the page shows it: wording, anchors and answer labels in the active
    language (a wording set through ATTUNE_INSTRUMENT_WORDING has no catalog entry and stays)."""
    items = tuple(
        replace(it, text=_shown(it.text), low_anchor=_shown(it.low_anchor), high_anchor=_shown(it.high_anchor))
        for it in inst.items
    )
    return replace(
        inst, name=_shown(inst.name), instructions=_shown(inst.instructions), items=items,
        response_labels=tuple((value, _shown(label)) for value, label in inst.response_labels),
    )


def _instrument_context(inst, phase: str, values: dict) -> dict:
    inst = _translated(inst)
    items = []
    for it in inst.items:
        row = {"item": it, "value": values.get(it.key, "")}
        if inst.widget == "sam":
            scale = {"pleasure": gettext("pleasure"), "arousal": gettext("arousal"),
                     "dominance": gettext("dominance")}.get(it.key, it.key)
            row["figures"] = [
                (p, manikin_svg(it.key, p, label=gettext("%(scale)s %(point)s of 9") % {"scale": scale, "point": p}))
                for p in range(1, 10)
            ]
        items.append(row)
    return {"inst": inst, "phase": phase, "phase_label": Phase(phase).label, "items": items}


@forms_may_lead_to_study_service
@never_cache
@participant_required
@require_http_methods(["GET", "POST"])
def instrument_view(request: HttpRequest, token: str, phase: str, key: str) -> HttpResponse:
    link = _link_or_404(token)
    enrollment = _enrollment(request, link)
    step = services.next_step(enrollment)
    if (step.step, step.instrument) != (phase, key):
        return redirect("recruitment:study", token=link.token)
    inst = conf.instrument(key)
    errors: list[str] = []
    values: dict = {}
    if request.method == "POST":
        values = {it.key: request.POST.get(it.key, "").strip() for it in inst.items}
        try:
            services.instrument_submit(enrollment=enrollment, instrument=key, phase=phase, answers=values)
        except ValidationError as exc:
            errors = exc.messages
        else:
            return redirect("recruitment:study", token=link.token)
    return render(request, "recruitment/instrument.html",
                  {"link": link, "errors": errors, **_instrument_context(inst, phase, values)},
                  status=400 if errors else 200)


@forms_may_lead_to_study_service
@participant_required
@require_POST
def finish_view(request: HttpRequest, token: str) -> HttpResponse:
    link = _link_or_404(token)
    enrollment = _enrollment(request, link)
    try:
        url = services.enrollment_complete(enrollment=enrollment)
    except ValidationError as exc:
        return render(request, "recruitment/refused.html",
                      {"link": link, "reason": "not_finished", "message": " ".join(exc.messages)}, status=400)
    return HttpResponseRedirect(url)


# --- researchers: the frozen analysis plan ---------------------------------------------------------


def _plan_for(request: HttpRequest, experiment_id: int) -> AnalysisPlan:
    if not (request.user.is_authenticated and request.user.is_staff
            and request.user.has_perm("experiments.view_experiment")):
        raise PermissionDenied("Only researchers may read analysis plans.")
    plan = AnalysisPlan.objects.select_related("experiment").filter(experiment_id=experiment_id).first()
    if plan is None:
        raise Http404("This experiment has not started yet, so it has no frozen plan.")
    return plan


@login_required
def plan_view(request: HttpRequest, experiment_id: int) -> HttpResponse:

    plan = _plan_for(request, experiment_id)
    exposures = analysable_exposures(experiment=plan.experiment)
    deviations = services.plan_deviations(
        plan=plan, experiment=plan.experiment, analysed_sessions=exposures.count(),
        analysed_participants=exposures.values("user_id").distinct().count())
    return render(request, "recruitment/plan.html", {"plan": plan, "doc": plan.plan, "deviations": deviations})


@login_required
def plan_json_view(request: HttpRequest, experiment_id: int) -> HttpResponse:
    plan = _plan_for(request, experiment_id)
    body = json.dumps({"content_hash": plan.content_hash, "frozen_at": plan.frozen_at.isoformat(),
                       "plan": plan.plan}, indent=2, sort_keys=True, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="analysis-plan-{experiment_id}.json"'
    return response
