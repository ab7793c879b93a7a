"""Pages for therapist–client links: the participant's side (in Settings) and the
therapist's client list and client page. Access is decided by therapy.selectors."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.selectors import profile_of
from therapy import links
from therapy.panels import client_panels_for
from therapy.selectors import (
    client_link_for,
    clients_of,
    notes_for,
    open_invites_of,
    therapist_may_see_sessions,
    therapists_of,
)


class InviteCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Invite code from your therapist"), max_length=20,
        help_text=gettext_lazy("For example TQ7K-9MXD."),
    )


class ProfileForm(forms.Form):
    preferred_genres = forms.CharField(
        label=gettext_lazy("Genres I like"), required=False, max_length=1000,
        help_text=gettext_lazy("Comma-separated, e.g. classical, folk."),
    )
    disliked_genres = forms.CharField(label=gettext_lazy("Genres to avoid"), required=False, max_length=1000)
    max_listening_minutes = forms.IntegerField(
        label=gettext_lazy("Longest listening time (minutes)"), required=False, min_value=1, max_value=600
    )


class NoteForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Private note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


def _errors_to_messages(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _profile_initial(user) -> dict:
    profile = profile_of(user=user)
    if profile is None:
        return {}
    return {
        "preferred_genres": ", ".join(profile.preferred_genres),
        "disliked_genres": ", ".join(profile.disliked_genres),
        "max_listening_minutes": profile.max_listening_minutes,
    }


def _save_profile(request, *, editor, client, form: ProfileForm) -> bool:
    try:
        links.client_profile_update(
            editor=editor,
            client=client,
            preferred_genres=form.cleaned_data["preferred_genres"],
            disliked_genres=form.cleaned_data["disliked_genres"],
            max_listening_minutes=form.cleaned_data["max_listening_minutes"],
        )
    except ValidationError as exc:
        _errors_to_messages(request, exc)
        return False
    messages.success(request, _("Listening preferences saved."))
    return True


# --- The participant's side ------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def my_therapist_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_participant:
        raise PermissionDenied(_("Only participants link to a therapist."))
    invite_form = InviteCodeForm(request.POST if request.POST.get("action") == "link" else None)
    profile_form = ProfileForm(
        request.POST if request.POST.get("action") == "profile" else None, initial=_profile_initial(user)
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "link" and invite_form.is_valid():
            try:
                link = links.invite_accept(client=user, code=invite_form.cleaned_data["code"])
            except ValidationError as exc:
                _errors_to_messages(request, exc)
            else:
                messages.success(
                    request,
                    _(
                        "You are now linked to %(name)s and in therapy mode. "
                        "They see your sessions only if you switch on sharing with your therapist."
                    ) % {"name": link.therapist.username},
                )
                return redirect("therapy:my-therapist")
        elif action == "end":
            try:
                links.link_end(user=user, link_id=int(request.POST.get("link", "0") or 0))
            except (ValidationError, ValueError):
                messages.error(request, _("No such link."))
            else:
                user.refresh_from_db(fields=["mode"])
                messages.success(
                    request,
                    _("The link is ended; your therapist no longer sees anything of yours.")
                    + (" " + _("You are back in personal use.") if user.mode == "personal" else ""),
                )
                return redirect("therapy:my-therapist")
        elif action == "profile" and profile_form.is_valid():
            if _save_profile(request, editor=user, client=user, form=profile_form):
                return redirect("therapy:my-therapist")
        elif action not in {"link", "end", "profile"}:
            messages.error(request, _("Unknown action."))
    return render(
        request,
        "therapy/my_therapist.html",
        {"links": therapists_of(client=user), "invite_form": invite_form, "profile_form": profile_form},
    )


# --- The therapist's side --------------------------------------------------------------------


def _therapist_only(request) -> None:
    if not request.user.is_therapist:
        raise PermissionDenied(_("This page is for therapists."))


@login_required
@require_http_methods(["GET", "POST"])
def clients_view(request: HttpRequest) -> HttpResponse:
    _therapist_only(request)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "invite":
                invite = links.invite_create(therapist=request.user)
                messages.success(request, _("New invite code: %(code)s (valid for 14 days).") % {"code": invite.code})
            elif request.POST.get("action") == "revoke":
                links.invite_revoke(therapist=request.user, invite_id=int(request.POST.get("invite", "0") or 0))
                messages.success(request, _("Invite withdrawn."))
            else:
                messages.error(request, _("Unknown action."))
        except (ValidationError, ValueError) as exc:
            _errors_to_messages(request, exc if isinstance(exc, ValidationError) else ValidationError(_("Bad request.")))
        return redirect("therapy:therapist-clients")
    client_links = list(clients_of(therapist=request.user))
    return render(
        request,
        "therapy/clients.html",
        {
            "links": client_links,
            "invites": open_invites_of(therapist=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_detail_view(request: HttpRequest, link_id: int) -> HttpResponse:
    _therapist_only(request)
    link = client_link_for(therapist=request.user, link_id=link_id)
    if link is None:
        raise Http404(_("No such client."))
    client = link.client
    note_form = NoteForm(request.POST if request.POST.get("action") == "note" else None)
    profile_form = ProfileForm(
        request.POST if request.POST.get("action") == "profile" else None, initial=_profile_initial(client)
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "note" and note_form.is_valid():
            try:
                links.note_add(therapist=request.user, client=client, text=note_form.cleaned_data["text"])
            except ValidationError as exc:
                _errors_to_messages(request, exc)
            else:
                return redirect("therapy:therapist-client", link_id=link.pk)
        elif action == "profile" and profile_form.is_valid():
            if _save_profile(request, editor=request.user, client=client, form=profile_form):
                return redirect("therapy:therapist-client", link_id=link.pk)
        elif action == "end":
            links.link_end(user=request.user, link_id=link.pk)
            messages.success(request, _("The link with %(client)s is ended.") % {"client": client.username})
            return redirect("therapy:therapist-clients")
        elif action not in {"note", "profile", "end"}:
            messages.error(request, _("Unknown action."))
    return render(
        request,
        "therapy/client_detail.html",
        {
            "link": link,
            "client": client,
            "sharing": therapist_may_see_sessions(therapist=request.user, client=client),
            "notes": notes_for(therapist=request.user, client=client),
            "note_form": note_form,
            "profile_form": profile_form,
            "panels": client_panels_for(request, link),
        },
    )
