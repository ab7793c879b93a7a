"""Read-only admin for listening sessions: researchers see participant codes, never usernames."""

from django.contrib import admin

from accounts.selectors import users_with_consent
from studies.listening.models import ListeningSession, PlaybackEvent


class PlaybackEventInline(admin.TabularInline):
    model = PlaybackEvent
    fields = ("occurred_at", "kind", "position", "track", "seconds_played", "payload")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("occurred_at", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ListeningSession)
class ListeningSessionAdmin(admin.ModelAdmin):
    list_display = ("id", "participant", "status", "strategy", "assignment_ref", "created_at", "reflection_rating",
                    "replan_count")
    list_filter = ("status", "strategy", "mode", "target_source")
    search_fields = ("user__participant_code", "assignment_ref")
    exclude = ("user", "reflection_text")
    readonly_fields = (
        "participant", "status", "created_at", "started_at", "completed_at", "pre_valence", "pre_arousal", "pre_gems",
        "pre_source", "target_valence", "target_arousal", "target_gems", "target_source", "post_valence", "post_arousal",
        "post_gems", "strategy", "strategy_params", "length_tracks", "length_minutes", "playlist", "reflection_rating",
        "mode", "assignment_ref", "replan_count",
    )
    inlines = [PlaybackEventInline]
    list_select_related = ("user",)

    @admin.display(description="participant", ordering="user__participant_code")
    def participant(self, obj):
        return obj.user.participant_code

    def get_queryset(self, request):
        """Only sessions of people whose research_data consent is on: withdrawing it takes
        their sessions out of researchers' sight at once."""

        return super().get_queryset(request).filter(user__in=users_with_consent(purpose="research_data"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # researchers are view-only on listening data
