"""The researcher's side of recruitment in the admin: links (with the URL to paste into the
recruitment service and the exports), enrolments and the entry log (read-only), instrument
answers (read-only, by participant code) and frozen analysis plans (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from studies.recruitment.models import AnalysisPlan, Enrollment, EntryLog, InstrumentResponse, RecruitmentLink, Service

_PLACEHOLDERS = {
    Service.PROLIFIC: "PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}",
    Service.MTURK: "workerId=…&assignmentId=…&hitId=… (MTurk's ExternalQuestion adds them)",
    Service.SONA: "id=%SURVEY_CODE%",
}


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RecruitmentLink)
class RecruitmentLinkAdmin(admin.ModelAdmin):
    list_display = ["name", "service", "study", "is_open", "enrolled", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_filter = ["service", "is_open"]
    readonly_fields = ["entry_url", "exports", "salt"]
    fields = ["name", "service", "experiment", "survey", "consent_text", "eligibility_statement", "pre_instruments",
              "post_instruments", "min_survey_ratings", "completion_url", "completion_code", "screenout_url",
              "screenout_code", "is_open", "entry_url", "exports", "salt"]

    @admin.display(description="study")
    def study(self, obj: RecruitmentLink) -> str:
        return obj.study_label

    @admin.display(description="enrolled")
    def enrolled(self, obj: RecruitmentLink) -> int:
        return obj.enrollments.count()

    @admin.display(description="entry URL for the recruitment service")
    def entry_url(self, obj: RecruitmentLink) -> str:
        if not obj.pk:
            return "Saved links get their URL."
        url = self.request_base + reverse("recruitment:entry", args=[obj.token])
        return format_html("<code>{}?{}</code>", url, _PLACEHOLDERS[obj.service])

    @admin.display(description="exports")
    def exports(self, obj: RecruitmentLink) -> str:
        if not obj.pk:
            return "-"
        kind, study_id = ("experiment", obj.experiment_id) if obj.experiment_id else ("survey", obj.survey_id)
        return format_html(
            '<a href="{}">entry log (payment reconciliation, CSV)</a> · <a href="{}">long CSV</a> · '
            '<a href="{}">codebook CSV</a> · <a href="{}">codebook JSON</a> · <a href="{}">SPSS .sav</a>',
            reverse("recruitment:entries-csv", args=[obj.pk]),
            reverse("recruitment:long-csv", args=[kind, study_id]),
            reverse("recruitment:codebook", args=[kind, study_id, "csv"]),
            reverse("recruitment:codebook", args=[kind, study_id, "json"]),
            reverse("recruitment:sav", args=[kind, study_id]))

    request_base = ""

    def get_form(self, request, obj=None, change=False, **kwargs):
        self.request_base = request.build_absolute_uri("/").rstrip("/")
        return super().get_form(request, obj, change, **kwargs)


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["participant_code", "link", "status", "screenout_reason", "created_at", "finished_at"]
    list_filter = ["link", "status"]
    search_fields = ["participant_code", "external_id_hash"]
    exclude = ["user"]


@admin.register(EntryLog)
class EntryLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant_code", "link", "kind", "code", "detail"]
    list_filter = ["link", "kind"]
    search_fields = ["participant_code"]
    exclude = ["enrollment"]


@admin.register(InstrumentResponse)
class InstrumentResponseAdmin(ReadOnlyAdmin):
    list_display = ["participant_code", "instrument", "phase", "session_id", "created_at"]
    list_filter = ["instrument", "phase"]
    search_fields = ["participant_code"]
    exclude = ["user", "enrollment"]


@admin.register(AnalysisPlan)
class AnalysisPlanAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "content_hash", "frozen_at", "page"]

    @admin.display(description="readable plan")
    def page(self, obj: AnalysisPlan) -> str:
        return format_html('<a href="{}">page</a> · <a href="{}">JSON</a>',
                           reverse("recruitment:plan", args=[obj.experiment_id]),
                           reverse("recruitment:plan-json", args=[obj.experiment_id]))
