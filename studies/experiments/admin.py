"""The researcher's side of experiments, in the admin: design, variants, start/pause/stop,
results with plots, CSV exports. Researchers see participant codes, never usernames."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.selectors import users_with_consent
from studies import plots
from studies.experiments import analysis, exports, selectors, services
from studies.experiments.forms import FROZEN_AFTER_START, ExperimentForm, PowerQueryForm, VariantForm
from studies.experiments.models import Experiment, Exposure, SecondaryMetric, Status, Variant
from studies.experiments.tasks import analysis_recompute
from studies.stats.power import ParticipantPlan, sample_size_two_sample

RESEARCH = "research_data"


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 0
    fields = ["name", "strategy", "params", "weight", "is_control"]

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.has_started

    def get_readonly_fields(self, request, obj=None):
        return self.fields if self._frozen(obj) else []

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if self._frozen(obj) or (obj is not None and obj.variants.exists()) else 1

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


ACTIONS = {
    "start": (services.experiment_start, "started"),  # called with by=request.user: pre-flight on the catalog
    "pause": (services.experiment_pause, "paused"),
    "stop": (services.experiment_stop, "stopped"),
    "add-control": (lambda *, experiment: services.variant_add_random_control(experiment=experiment),
                    "given a random control"),
}


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = [VariantInline]
    list_display = ["name", "status", "design", "primary_metric", "variant_count", "planned_participants",
                    "planned_sample_size", "exposure_count",
                    "started_at", "results_link"]
    list_filter = ["status", "primary_metric"]
    search_fields = ["name"]
    actions = ["add_random_control"]
    change_form_template = "admin/experiments/experiment/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", "hypothesis_null", "hypothesis_alt", "eligible_modes")}),
        ("Metrics", {"fields": ("design", "primary_metric", "secondary_metrics")}),
        ("Power calculation", {"fields": ("alpha", "minimum_detectable_effect", "outcome_sd", "power", "assumed_icc",
                                          "sessions_per_participant", "power_plan"),
                               "description": "The participant is the unit of analysis. The planned number of "
                                              "participants follows from α, the minimum detectable effect, the "
                                              "assumed standard deviation, the power, the variants' weights and the "
                                              "design effect 1 + (m − 1)·ICC of m sessions per participant "
                                              "(between-subject: two-sample t-test, each variant against the "
                                              "control; within-subject: paired t-test on per-participant "
                                              "differences)."}),
        ("Status", {"fields": ("status", "started_at", "stopped_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        base = ["power_plan", "status", "started_at", "stopped_at"]
        if obj is not None and obj.has_started:
            return [*base, *FROZEN_AFTER_START, "secondary_metrics_shown"]
        return base

    def get_fieldsets(self, request, obj=None):
        if obj is None or not obj.has_started:
            return self.fieldsets
        return [(name, {**opts, "fields": tuple("secondary_metrics_shown" if f == "secondary_metrics" else f
                                                for f in opts["fields"])}) for name, opts in self.fieldsets]

    @admin.display(description="secondary metrics")
    def secondary_metrics_shown(self, obj: Experiment) -> str:
        labels = dict(SecondaryMetric.choices)
        return ", ".join(labels.get(m, m) for m in obj.secondary_metrics) or "—"

    def get_queryset(self, request):
        # One query for the list: the analysable exposures (research consent still on) counted
        # in SQL, not one COUNT per row.
        analysable = Count("exposures", filter=Q(exposures__user__in=users_with_consent(purpose=RESEARCH).values("pk")),
                           distinct=True)
        return super().get_queryset(request).prefetch_related("variants").annotate(analysable_exposures=analysable)

    @admin.display(description="variants")
    def variant_count(self, obj: Experiment) -> int:
        return len(obj.variants.all())

    @admin.display(description="sessions exposed (analysable)", ordering="analysable_exposures")
    def exposure_count(self, obj: Experiment) -> int:
        return obj.analysable_exposures

    @admin.display(description="results")
    def results_link(self, obj: Experiment) -> str:
        return format_html('<a href="{}">results</a>', reverse("admin:experiments_experiment_results", args=[obj.pk]))

    @admin.display(description="planned participants")
    def power_plan(self, obj: Experiment | None) -> str:
        plan, error = None, None
        if obj is not None and obj.pk:
            try:
                plan = services.experiment_plan(experiment=obj)
            except ValueError as exc:
                error = str(exc)
        url = reverse("admin:experiments_experiment_power")
        text = describe_plan(plan) if plan is not None else (error or "Add two variants to see the planned sample size "
                                                             "(the preview below assumes two equal arms).")
        weights = [v.weight for v in obj.variants.all()] if obj is not None and obj.pk else []
        output = format_html('<output id="power-plan" data-url="{}" aria-live="polite" data-weights="{}" '
                             'data-control="{}">{}</output>', url,
                             ",".join(f"{w:g}" for w in weights),
                             _control_index(obj), text)
        curve = _power_curve(obj, plan) if plan is not None else ""
        return format_html("{}{}", output, curve)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.experiment_refresh_plan(experiment=form.instance)

    @admin.action(description="Add a random control (the engine's random strategy)")
    def add_random_control(self, request, queryset):
        for experiment in queryset:
            try:
                services.variant_add_random_control(experiment=experiment)
            except ValidationError as exc:
                self.message_user(request, f"{experiment}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment}: random control added.", messages.SUCCESS)

    # --- extra pages ------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        extra = [
            path("power/", wrap(self.power_view), name="experiments_experiment_power"),
            path("<int:experiment_id>/results/", wrap(self.results_view), name="experiments_experiment_results"),
            path("<int:experiment_id>/do/<slug:action>/", wrap(self.action_view), name="experiments_experiment_do"),
            path("<int:experiment_id>/recompute/", wrap(self.recompute_view),
                 name="experiments_experiment_recompute"),
            path("<int:experiment_id>/export/<slug:what>.csv", wrap(self.export_view),
                 name="experiments_experiment_export"),
        ]
        return extra + super().get_urls()

    def _experiment(self, request, experiment_id: int) -> Experiment:
        if not self.has_view_permission(request):
            raise PermissionDenied
        experiment = selectors.experiment_get(viewer=request.user, experiment_id=experiment_id)
        if experiment is None:
            raise Http404("No such experiment.")
        return experiment

    def power_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PowerQueryForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"error": "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())},
                                status=400)
        d = form.cleaned_data
        control = d.get("control") or 0
        if control >= len(d["weights"]):
            return JsonResponse({"error": "control: index outside the list of weights"}, status=400)
        try:
            plan = services.plan_for(design=d.get("design") or "between", weights=d["weights"], mde=d["mde"],
                                     sd=d["sd"], alpha=d["alpha"], power=d["power"], icc=d["icc"],
                                     sessions_per_participant=d.get("sessions") or 1.0, control_index=control)
        except ValueError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse({"participants": plan.participants, "sessions": plan.sessions,
                             "participants_per_variant": list(plan.participants_per_variant),
                             "design_effect": plan.design_effect, "effect_size": plan.effect_size,
                             "text": describe_plan(plan)})

    def action_view(self, request, experiment_id: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        experiment = self._experiment(request, experiment_id)
        if not self.has_change_permission(request, experiment):
            raise PermissionDenied
        if action not in ACTIONS:
            raise Http404("Unknown action.")
        fn, done = ACTIONS[action]
        try:
            if action == "start":
                fn(experiment=experiment, by=request.user)
            else:
                fn(experiment=experiment)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"{experiment.name} {done}.", messages.SUCCESS)
        return redirect(reverse("admin:experiments_experiment_change", args=[experiment.pk]))

    def recompute_view(self, request, experiment_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        experiment = self._experiment(request, experiment_id)
        if not self.has_change_permission(request, experiment):
            raise PermissionDenied
        result = analysis_recompute.delay(experiment.pk)
        if result.ready():
            self.message_user(request, "Analysis recomputed.", messages.SUCCESS)
        else:
            self.message_user(request, "Recomputing the analysis; reload this page in a moment.", messages.INFO)
        return redirect(reverse("admin:experiments_experiment_results", args=[experiment.pk]))

    def results_view(self, request, experiment_id: int):
        experiment = self._experiment(request, experiment_id)
        snapshot = selectors.latest_analysis(viewer=request.user, experiment=experiment)
        result = snapshot.result if snapshot is not None else None
        plots = [(key, title, mark_safe(result["plots"][key]))  # noqa: S308 (SVG from studies.plots, text escaped)
                 for key, title in (("distribution", "Distribution per variant"),
                                    ("forest", "Effects and intervals"),
                                    ("cumulative", "Cumulative effect over time"))
                 if result and key in result.get("plots", {})]
        counts = selectors.exposure_counts(viewer=request.user, experiment=experiment)
        variants = [(v, counts.get(v.pk)) for v in experiment.variants.all()]
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "experiment": experiment,
                   "title": f"Results: {experiment.name}", "snapshot": snapshot, "result": result, "plots": plots,
                   "variants": variants, "can_change": self.has_change_permission(request, experiment)}
        return TemplateResponse(request, "admin/experiments/experiment/results.html", context)

    def export_view(self, request, experiment_id: int, what: str):
        experiment = self._experiment(request, experiment_id)
        if what == "sessions":
            header, rows = selectors.SESSION_COLUMNS, selectors.session_rows(viewer=request.user, experiment=experiment)
        elif what == "events":
            header, rows = selectors.EVENT_COLUMNS, selectors.event_rows(viewer=request.user, experiment=experiment)
        elif what == "results":
            snapshot = selectors.latest_analysis(viewer=request.user, experiment=experiment)
            if snapshot is None:
                raise Http404("No analysis yet: recompute it first.")
            header, rows = analysis.RESULT_COLUMNS, analysis.result_rows(snapshot.result)
        else:
            raise Http404("Unknown export.")
        return exports.csv_response(experiment_name=experiment.name, what=what, header=header, rows=rows)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context.update({"experiment": obj, "Status": Status,
                                  "has_control": obj.variants.filter(is_control=True).exists()})
        return super().change_view(request, object_id, form_url, extra_context)


def _control_index(obj: Experiment | None) -> int:
    if obj is None or not obj.pk:
        return 0
    return next((i for i, v in enumerate(obj.variants.all()) if v.is_control), 0)


def _power_curve(obj: Experiment, plan: ParticipantPlan) -> str:
    """Power against sample size for the saved between-subject design (first treatment vs the control),
    in effective sessions (participants × sessions per participant / design effect), as an SVG."""
    if plan.within_subject:
        return ""
    weights = [v.weight for v in obj.variants.all()]
    control = _control_index(obj)
    treatment = next(i for i in range(len(weights)) if i != control)
    try:
        pair = sample_size_two_sample(mde=obj.minimum_detectable_effect, sd=obj.outcome_sd, alpha=obj.alpha,
                                            power=obj.power, ratio=weights[treatment] / weights[control])
        svg = plots.power_curve_plot(pair, title="Power against effective sample size (saved design)",
                                     effect_sizes=(pair.effect_size / 2, pair.effect_size * 1.5))
    except ValueError:
        return ""
    return format_html('<div class="experiment-plot" data-testid="power-curve">{}</div>',
                       mark_safe(svg))  # noqa: S308 (SVG from studies.plots, its text escaped there)


def describe_plan(plan: ParticipantPlan) -> str:
    head = (f"{plan.participants} participants in total, about {plan.sessions} sessions "
            f"({plan.sessions_per_participant:g} per participant)")
    tail = (f" for {plan.power:.0%} power at α = {plan.alpha:g} to detect an effect of {plan.effect_size:.2f} "
            "standard deviations")
    if plan.within_subject:
        return (f"{head}, every participant meeting every variant in a counterbalanced order{tail}; paired analysis, "
                f"the participant effect cancels (assumed ICC {plan.icc:g}).")
    per = " + ".join(str(n) for n in plan.participants_per_variant)
    return (f"{head}; {per} participants per variant{tail}. Design effect {plan.design_effect:.2f} "
            f"(assumed ICC {plan.icc:g}).")


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    """Read-only: which session went to which variant. Participant codes only."""

    list_display = ["participant_code", "experiment", "variant", "session_id", "reason", "created_at"]
    list_filter = ["experiment", "reason"]
    search_fields = ["participant_code"]
    list_select_related = ["experiment", "variant"]
    fields = ["participant_code", "experiment", "variant", "session_id", "reason", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        # People who withdrew research consent are not shown (they are not analysed either).
        return super().get_queryset(request).filter(user__in=users_with_consent(purpose=RESEARCH).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
