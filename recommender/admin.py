"""Admin for the catalog: tracks, labels and import runs (researchers are staff).

Playlists are personal and are not in the admin; researchers reach them only through studies.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from emotion.vocab import GEMS_INFO
from recommender import history_admin  # noqa: F401  (registers the streaming-history admin)
from recommender.forms import CsvUploadForm
from recommender.models import ImportRun, Track, TrackLabel
from recommender.services.labels import catalog_touch, track_label_set
from recommender.tasks import csv_import_start


class TrackLabelInline(admin.TabularInline):
    model = TrackLabel
    extra = 0
    can_delete = False
    fields = ["source", "dominant", "confidence", "rater_count", "valence", "arousal", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="dominant emotion")
    def dominant(self, label: TrackLabel) -> str:
        return _dominant(label.gems)


def _dominant(gems) -> str:
    i = max(range(len(gems)), key=lambda k: gems[k])
    info = GEMS_INFO[i]
    return f"{info.emoji} {info.label} ({gems[i]:.0%})"


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["title", "artist", "genre", "duration_s", "valence", "energy", "tempo", "has_audio_file", "external_id"]
    list_filter = ["genre", "explicit", "mode"]
    search_fields = ["title", "artist", "album", "external_id"]
    readonly_fields = ["created", "updated", "descriptors"]
    inlines = [TrackLabelInline]
    list_per_page = 50

    @admin.display(boolean=True, description="audio")
    def has_audio_file(self, track: Track) -> bool:
        return track.has_audio

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalog_touch()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalog_touch()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalog_touch()


class TrackLabelForm(forms.ModelForm):
    class Meta:
        model = TrackLabel
        fields = ["track", "source", "gems", "confidence", "rater_count"]

    def clean_confidence(self):
        value = self.cleaned_data["confidence"]
        if not 0.0 <= value <= 1.0:
            raise ValidationError("Confidence is a number in [0, 1].")
        return value


@admin.register(TrackLabel)
class TrackLabelAdmin(admin.ModelAdmin):
    form = TrackLabelForm
    list_display = ["track", "source", "dominant", "confidence", "rater_count", "updated_at"]
    list_filter = ["source"]
    search_fields = ["track__title", "track__artist"]
    list_select_related = ["track"]
    raw_id_fields = ["track"]
    fields = ["track", "source", "gems", "confidence", "rater_count", "valence", "arousal", "entropy", "updated_at"]
    readonly_fields = ["valence", "arousal", "entropy", "updated_at"]

    @admin.display(description="dominant emotion")
    def dominant(self, label: TrackLabel) -> str:
        return _dominant(label.gems)

    def save_model(self, request, obj, form, change):
        # Through the one write path: validation, VA from the circumplex table, catalog version.
        try:
            saved = track_label_set(
                track=obj.track, source=obj.source, gems=obj.gems, confidence=obj.confidence, rater_count=obj.rater_count
            )
        except ValidationError as exc:
            raise PermissionDenied("; ".join(exc.messages)) from exc
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalog_touch()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalog_touch()


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source_name", "status", "progress", "created_count", "updated_count",
                    "unchanged_count", "error_count", "created_at"]
    list_filter = ["kind", "status"]
    change_form_template = "recommender/admin/importrun_change_form.html"
    readonly_fields = ["kind", "status", "source_name", "total", "processed", "created_count", "updated_count",
                       "unchanged_count", "error_count", "message", "report_table", "created_at", "started_at",
                       "finished_at"]
    fields = readonly_fields

    @admin.display(description="progress")
    def progress(self, run: ImportRun) -> str:
        return format_html('<progress max="100" value="{}" aria-label="progress">{} %</progress> {} %',
                           run.percent, run.percent, run.percent)

    @admin.display(description="report")
    def report_table(self, run: ImportRun) -> str:
        report = run.report or {}
        parts = []
        if report.get("columns_absent"):
            parts.append(format_html("<p>Columns not in the file (left empty): {}</p>", ", ".join(report["columns_absent"])))
        if report.get("columns_ignored"):
            parts.append(format_html("<p>Columns ignored: {}</p>", ", ".join(report["columns_ignored"])))
        if report.get("duplicate_count"):
            parts.append(format_html("<p>{} duplicate track ids skipped (first row kept).</p>", report["duplicate_count"]))
        errors = report.get("errors") or report.get("files") or []
        if errors:
            rows = format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((e.get("line", e.get("file", "")), e.get("track_id", ""), e.get("message", "")) for e in errors),
            )
            parts.append(format_html(
                "<table><thead><tr><th>line / file</th><th>track id</th><th>problem</th></tr></thead><tbody>{}</tbody></table>",
                rows,
            ))
            if report.get("errors_truncated"):
                parts.append(format_html("<p>Only the first {} problems are listed.</p>", len(errors)))
        return mark_safe("".join(str(p) for p in parts)) if parts else "—"  # noqa: S308 (each part is escaped)

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="recommender_importrun_upload"),
            path("<int:run_id>/progress/", self.admin_site.admin_view(self.progress_view),
                 name="recommender_importrun_progress"),
        ]
        return extra + urls

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:recommender_importrun_upload")

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            run = csv_import_start(upload=form.cleaned_data["file"], created_by=request.user)
            messages.info(request, f"Import #{run.pk} queued.")
            return redirect(reverse("admin:recommender_importrun_change", args=[run.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "title": "Import tracks from CSV",
                   "opts": self.model._meta}
        return TemplateResponse(request, "recommender/admin/csv_upload.html", context, status=400 if form.errors else 200)

    def progress_view(self, request, run_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=run_id)
        return JsonResponse({
            "status": run.status, "status_display": run.get_status_display(), "percent": run.percent,
            "processed": run.processed, "total": run.total, "message": run.message,
        })
