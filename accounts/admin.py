"""Admin for accounts. Researchers see participant codes; usernames are for superusers only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Consent, ConsentEvent, User


def show_identity(request) -> bool:
    """Only superusers (operators) see pseudonyms; researchers see participant codes."""
    return bool(request.user.is_superuser)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["participant_code"]
    list_filter = ["role", "mode", "is_staff", "is_active"]
    readonly_fields = ["participant_code", "erased_at", "last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("username", "password", "participant_code")}),
        ("Attune", {"fields": ("role", "mode", "email", "erased_at")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),)

    def get_list_display(self, request):
        if show_identity(request):
            return ["participant_code", "username", "role", "mode", "is_active"]
        return ["participant_code", "role", "mode", "is_active"]

    def get_search_fields(self, request):
        return ["participant_code", "username"] if show_identity(request) else ["participant_code"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are erased (tombstoned) by the person, never hard-deleted here


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "participant_code", "purpose", "old", "new", "text_version"]
    list_filter = ["purpose", "new", "text_version"]
    search_fields = ["user__participant_code"]
    list_select_related = ["user"]

    @admin.display(description="participant", ordering="user__participant_code")
    def participant_code(self, obj):
        return obj.user.participant_code

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["participant_code", "purpose", "granted", "text_version", "updated_at"]
    list_filter = ["purpose", "granted"]
    search_fields = ["user__participant_code"]
    list_select_related = ["user"]

    @admin.display(description="participant", ordering="user__participant_code")
    def participant_code(self, obj):
        return obj.user.participant_code

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
