"""Researchers' read-only view of imported streaming histories (imported by recommender/admin.py).

Only people whose research_data consent is on appear, by participant code, never by pseudonym;
withdrawing the consent takes their plays out of sight at once. The CSV action is the research
export of these plays."""

from __future__ import annotations

from django.contrib import admin
from django.http import StreamingHttpResponse

from accounts.admin import ReadOnlyAdmin
from accounts.selectors import users_with_consent
from recommender.csv_export import csv_lines
from recommender.models import HistoryPlay

CSV_HEADER = ("participant_code", "track_id", "external_id", "played_at_utc", "ms_played", "skipped")


@admin.register(HistoryPlay)
class HistoryPlayAdmin(ReadOnlyAdmin):
    list_display = ("participant", "track", "played_at", "ms_played", "skipped")
    list_filter = ("skipped",)
    search_fields = ("user__participant_code",)
    exclude = ("user",)
    readonly_fields = ("participant", "track", "played_at", "ms_played", "skipped")
    list_select_related = ("user", "track")
    actions = ["export_csv"]

    @admin.display(description="participant", ordering="user__participant_code")
    def participant(self, obj: HistoryPlay) -> str:
        return obj.user.participant_code

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user__in=users_with_consent(purpose="research_data"))

    @admin.action(description="Export selected plays as CSV (participant codes only)")
    def export_csv(self, request, queryset):
        rows = queryset.order_by("user__participant_code", "played_at", "id").values_list(
            "user__participant_code", "track_id", "track__external_id", "played_at", "ms_played", "skipped"
        )
        body = csv_lines(CSV_HEADER, ((c, t, e, p.isoformat(), ms, sk) for c, t, e, p, ms, sk in rows.iterator()))
        response = StreamingHttpResponse(body, content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="streaming_history_plays.csv"'
        return response
