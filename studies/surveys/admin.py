"""Admin for surveys (researchers are staff in the `researchers` group).

The survey page shows its progress and the figures of the latest runs: Krippendorff's alpha
per category, down-weighted raters by participant code with reasons, the propagation
evaluation against its baselines and the MER confusion matrix. People are only ever shown by
participant code: no username appears on any page of this app's admin.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.selectors import users_with_consent
from emotion.vocab import GEMS_INFO
from studies.surveys import (
    conf,
    dataset_admin,  # noqa: F401  (registers the data-set admin)
    exports,
    figures,
)
from studies.surveys.models import LabelRun, Rating, RunKind, RunStatus, Survey
from studies.surveys.selectors import RESEARCH, label_set_summary, latest_run, runs_for, survey_progress
from studies.surveys.services.runs import label_run_rollback
from studies.surveys.services.status import survey_close, survey_open, survey_pause
from studies.surveys.tasks import label_pipeline_start, label_run_start

_GEMS_LABEL = {e.name: f"{e.emoji} {e.label}" for e in GEMS_INFO}


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = [
            "title", "instructions", "consent_text", "tracks", "pool_from_catalog", "filter_genres", "filter_has_audio",
            "response_format", "emotion_focus", "ask_liking", "ask_familiarity", "clip_seconds", "min_listen_seconds",
            "ratings_per_track", "tracks_per_participant", "next_track_mode", "repeat_rate", "gold_tracks",
        ]
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 3}),
            "consent_text": forms.Textarea(attrs={"rows": 3}),
        }


def _status_action(service, verb: str):
    def action(modeladmin, request, queryset):
        done = 0
        for survey in queryset:
            try:
                service(survey=survey)
                done += 1
            except ValidationError as exc:
                modeladmin.message_user(request, f"{survey}: {' '.join(exc.messages)}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} survey(s) {verb}.", messages.SUCCESS)

    action.__name__ = f"survey_{verb}"
    action.allowed_permissions = ("change",)  # type: ignore[attr-defined]
    action.short_description = f"{verb.capitalize()} selected surveys"  # type: ignore[attr-defined]
    return action


def _run_action(kind: str, label: str, per_survey: bool):
    def action(modeladmin, request, queryset):
        surveys = list(queryset) if per_survey else [None]
        for survey in surveys:
            run = label_run_start(kind=kind, survey=survey, created_by=request.user)
            modeladmin.message_user(request, f"{run.get_kind_display()} queued (run #{run.pk}).", messages.INFO)

    action.__name__ = f"run_{kind}"
    action.allowed_permissions = ("change",)  # type: ignore[attr-defined]
    action.short_description = label  # type: ignore[attr-defined]
    return action


def _export_action(which: str):
    def action(modeladmin, request, queryset):
        return exports.csv_response(which, surveys=list(queryset))

    action.__name__ = f"export_{which}"
    action.short_description = f"Export {which} as CSV (participant codes only)"  # type: ignore[attr-defined]
    return action


class TrackIdsField(forms.ModelMultipleChoiceField):
    """Django's autocomplete widget looks the submitted values up as ids when the form is shown
    again; a value that is not an id (`NaN`, a 40-digit number) made that a server error.
    Only well-formed ids are shown back; the field's own validation still reports the rest."""

    def bound_data(self, data, initial):
        data = super().bound_data(data, initial)
        return [v for v in data or [] if str(v).isdigit() and len(str(v)) <= 18]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    form = SurveyForm
    list_display = ["title", "status", "response_format", "emotion_focus", "progress_bar", "created_at"]
    list_filter = ["status", "response_format", "emotion_focus"]
    search_fields = ["title"]
    autocomplete_fields = ["tracks", "gold_tracks"]
    readonly_fields = ["status", "created_by_code", "created_at", "opened_at", "closed_at"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["form_class"] = TrackIdsField
        return super().formfield_for_manytomany(db_field, request, **kwargs)
    change_form_template = "surveys/admin/survey_change_form.html"
    fieldsets = [
        (None, {"fields": ["title", "instructions", "consent_text", "status"]}),
        ("Track pool", {"fields": ["tracks", "pool_from_catalog", "filter_genres", "filter_has_audio"]}),
        ("Questions", {"fields": ["response_format", "emotion_focus", "ask_liking", "ask_familiarity"]}),
        ("Listening and quotas", {"fields": ["clip_seconds", "min_listen_seconds", "ratings_per_track",
                                             "tracks_per_participant", "next_track_mode"]}),
        ("Attention checks", {"fields": ["repeat_rate", "gold_tracks"]}),
        ("History", {"fields": ["created_by_code", "created_at", "opened_at", "closed_at"], "classes": ["collapse"]}),
    ]
    actions = [
        _status_action(survey_open, "opened"),
        _status_action(survey_pause, "paused"),
        _status_action(survey_close, "closed"),
        _run_action(RunKind.AGGREGATE, "Aggregate ratings into survey labels", per_survey=True),
        _run_action(RunKind.PROPAGATE, "Propagate labels to unrated tracks (whole catalog)", per_survey=False),
        _run_action(RunKind.TRAIN_MER, "Train music emotion recognition (whole catalog)", per_survey=False),
        _run_action(RunKind.LABEL_MER, "Label new audio with the MER model (whole catalog)", per_survey=False),
        _export_action("ratings"),
        _export_action("labels"),
    ]

    @admin.display(description="created by")
    def created_by_code(self, survey: Survey) -> str:
        return survey.created_by.participant_code if survey.created_by else "—"

    @admin.display(description="ratings / wanted")
    def progress_bar(self, survey: Survey):
        p = survey_progress(survey=survey)
        return format_html(
            '<progress max="100" value="{}" aria-label="ratings collected">{} %</progress> {} / {}',
            p.percent, p.percent, p.ratings, p.wanted,
        )

    def has_delete_permission(self, request, obj=None):
        # Rating.survey cascades: deleting a survey with answers would delete participants'
        # data (including people who withdrew and are hidden here). Close it instead. The
        # bulk action is refused too: it needs delete permission on the answers (RatingAdmin).
        if obj is not None and Rating.objects.filter(survey=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    # -- extra pages ------------------------------------------------------------------------

    def get_urls(self):
        extra = [
            path("<int:survey_id>/status/<str:verb>/", self.admin_site.admin_view(self.status_view),
                 name="surveys_survey_status"),
            path("<int:survey_id>/run/<str:kind>/", self.admin_site.admin_view(self.run_view),
                 name="surveys_survey_run"),
            path("<int:survey_id>/export/<str:which>.csv", self.admin_site.admin_view(self.export_view),
                 name="surveys_survey_export"),
            path("run/<int:run_id>/progress/", self.admin_site.admin_view(self.run_progress_view),
                 name="surveys_labelrun_progress"),
            path("<int:survey_id>/pipeline/", self.admin_site.admin_view(self.pipeline_view),
                 name="surveys_survey_pipeline"),
            path("<int:survey_id>/rollback/<int:run_id>/", self.admin_site.admin_view(self.rollback_view),
                 name="surveys_labelrun_rollback"),
        ]
        return extra + super().get_urls()

    def _survey_or_403(self, request, survey_id: int, *, change: bool) -> Survey:
        survey = get_object_or_404(Survey, pk=survey_id)
        allowed = self.has_change_permission(request, survey) if change else self.has_view_permission(request, survey)
        if not allowed:
            raise PermissionDenied
        return survey

    def _back(self, survey: Survey):
        return redirect(reverse("admin:surveys_survey_change", args=[survey.pk]))

    def status_view(self, request, survey_id: int, verb: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        survey = self._survey_or_403(request, survey_id, change=True)
        services = {"open": survey_open, "pause": survey_pause, "close": survey_close}
        if verb not in services:
            messages.error(request, f"Unknown action {verb!r}.")
            return self._back(survey)
        try:
            survey = services[verb](survey=survey)
            messages.success(request, f"The survey is now {survey.get_status_display().lower()}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return self._back(survey)

    def run_view(self, request, survey_id: int, kind: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        survey = self._survey_or_403(request, survey_id, change=True)
        if kind not in RunKind.values:
            messages.error(request, f"Unknown run kind {kind!r}.")
            return self._back(survey)
        run = label_run_start(kind=kind, survey=survey if kind == RunKind.AGGREGATE else None, created_by=request.user)
        run.refresh_from_db()
        level = messages.ERROR if run.status == RunStatus.FAILED else messages.INFO
        messages.add_message(request, level, f"{run.get_kind_display()}: run #{run.pk} {run.get_status_display().lower()}. {run.message}")
        return self._back(survey)

    def pipeline_view(self, request, survey_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        survey = self._survey_or_403(request, survey_id, change=True)
        runs = label_pipeline_start(survey=survey, created_by=request.user)
        for run in runs:
            run.refresh_from_db()
            level = messages.ERROR if run.status == RunStatus.FAILED else messages.INFO
            verdict = f" ({run.get_decision_display().lower()})" if run.decision else ""
            messages.add_message(
                request, level,
                f"{run.get_kind_display()}: run #{run.pk} {run.get_status_display().lower()}{verdict}. {run.message}",
            )
        return self._back(survey)

    def rollback_view(self, request, survey_id: int, run_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        survey = self._survey_or_403(request, survey_id, change=True)
        run = get_object_or_404(LabelRun, pk=run_id)
        try:
            label_run_rollback(run=run)
            messages.success(request, f"Run #{run.pk} rolled back: the labels it replaced are published again.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return self._back(survey)

    def export_view(self, request, survey_id: int, which: str):
        survey = self._survey_or_403(request, survey_id, change=False)
        if which not in exports.KINDS:
            raise PermissionDenied(f"Unknown export {which!r}.")
        return exports.csv_response(which, surveys=[survey])

    def run_progress_view(self, request, run_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(LabelRun, pk=run_id)
        return JsonResponse({"status": run.status, "percent": run.percent, "message": run.message})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        survey = Survey.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if survey is not None:
            extra_context["report"] = survey_report(survey)
        return super().change_view(request, object_id, form_url, extra_context)


def survey_report(survey: Survey) -> dict:
    """What the survey page shows next to the form: progress and the latest figures."""
    progress = survey_progress(survey=survey)
    runs = runs_for(survey=survey)
    report: dict = {
        "progress": progress,
        "runs": runs,
        "run_kinds": RunKind.choices,
        "gate_settings": conf.gate_settings(),
        "label_sets": [label_set_summary(run=r) for r in runs if r.decision],
    }
    aggregate = latest_run(kind=RunKind.AGGREGATE, survey=survey)
    if aggregate is not None:
        f = aggregate.figures
        report["aggregate"] = aggregate
        if f.get("alpha"):
            per_category = [(_GEMS_LABEL.get(k, k), v) for k, v in f["alpha"]["per_category"].items()]
            report["alpha_svg"] = mark_safe(  # noqa: S308 - built by figures.py, every text escaped
                figures.alpha_bars(per_category, f["alpha"]["overall"],
                                   title=f"Krippendorff's alpha ({f['alpha']['level']}) per GEMS emotion")
            )
        raters = f.get("raters") or []
        report["alpha_na"] = (f.get("alpha") or {}).get("why_na") or (
            "" if f.get("alpha") else "no answers counted in this aggregation"
        )
        report["raters"] = raters
        report["down_weighted"] = [r for r in raters if r["reasons"] or r["weight"] < 0.5]
        if raters:
            report["weights_svg"] = mark_safe(  # noqa: S308 - escaped in figures.py
                figures.value_bars(
                    [(r["code"], r["weight"], f"{r['weight']:.2f} ({r['n_ratings']} answers)") for r in raters[:40]],
                    title="Rater weights (reliability × attention), lowest first", testid="rater-weights",
                )
            )
    propagation = latest_run(kind=RunKind.PROPAGATE)
    if propagation is not None:
        report["propagation"] = propagation
        evaluation = propagation.figures.get("evaluation")
        if evaluation:
            scores = evaluation["scores"]
            report["evaluation"] = evaluation
            report["evaluation_svg"] = mark_safe(  # noqa: S308 - escaped in figures.py
                figures.value_bars(
                    [(s["method"][:18], s["top1"], f"top-1 {s['top1']:.0%}, JSD {s['mean_jsd']:.3f}") for s in scores],
                    title="Held-out top-1 agreement by method", testid="evaluation-bars",
                )
            )
    mer_any = latest_run(kind=RunKind.TRAIN_MER, done_only=False)
    if mer_any is not None and mer_any.status == RunStatus.FAILED:
        report["mer_failed"] = mer_any  # e.g. "Not enough survey labels yet" on the demo
    mer = latest_run(kind=RunKind.TRAIN_MER)
    if mer is not None:
        report["mer"] = mer
        confusion = mer.figures.get("confusion")
        classes = mer.figures.get("classes")
        if confusion and classes:
            report["mer_svg"] = mark_safe(  # noqa: S308 - escaped in figures.py
                figures.heat_map(confusion, [_GEMS_LABEL.get(c, c) for c in classes],
                                 title="MER held-out confusion matrix (dominant emotion)", row_axis="survey label",
                                 col_axis="predicted from audio")
            )
    return report


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    """Read-only: answers are given by participants, never edited by researchers."""

    list_display = ["id", "survey", "track", "participant", "picked", "liking", "familiarity", "listened_seconds",
                    "attention_kind", "created_at"]
    list_filter = ["survey", "attention_kind"]
    list_select_related = ["survey", "track", "user"]
    fields = ["survey", "track", "participant", "picked", "answer", "liking", "familiarity", "listened_seconds",
              "is_attention_check", "attention_kind", "created_at"]
    readonly_fields = fields
    search_fields = ["user__participant_code", "track__title"]

    @admin.display(description="participant code", ordering="user__participant_code")
    def participant(self, rating: Rating) -> str:
        return rating.user.participant_code

    @admin.display(description="answer")
    def picked(self, rating: Rating) -> str:
        if rating.survey.response_format == "pick":
            return ", ".join(_GEMS_LABEL[p] for p in rating.picks)
        return " ".join(str(v) for v in rating.answer)

    def get_queryset(self, request):
        # Only answers that count: a person who withdrew research consent is not shown.
        return super().get_queryset(request).filter(user__in=users_with_consent(purpose=RESEARCH).values("pk"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Participants' answers go only through their own erasure (accounts.privacy).
        return False


@admin.register(LabelRun)
class LabelRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "survey", "status", "percent_done", "decision", "message", "created_at"]
    list_filter = ["kind", "status", "decision"]
    fields = ["kind", "survey", "status", "progress", "decision", "message", "gate", "figures", "created_at",
              "started_at", "finished_at", "published_at", "rolled_back_at"]
    readonly_fields = fields

    @admin.display(description="progress")
    def percent_done(self, run: LabelRun):
        return format_html('<progress max="100" value="{}" aria-label="run progress">{} %</progress> {} %',
                           run.percent, run.percent, run.percent)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
