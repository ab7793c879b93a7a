"""Pages of the accounts app: landing, dashboard, consent, settings, export, deletion, health."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import dashboard, health
from accounts.consent import PURPOSE_TEXTS
from accounts.forms import ConsentForm, DeleteAccountForm, ModeForm
from accounts.selectors import consent_history_of, consents_of
from accounts.services import consents_set, user_erase, user_export, user_set_mode


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.check_all()
    detailed = request.user.is_authenticated and request.user.is_staff
    return JsonResponse(report.as_dict(detailed=detailed), status=200 if report.ok else 503)


@login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/dashboard.html",
        {"panels": dashboard.panels_for(request), "consents": consents_of(user=request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def consent_view(request: HttpRequest) -> HttpResponse:
    """Shown right after sign-up, and reachable from settings at any time."""
    current = consents_of(user=request.user)
    form = ConsentForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        consents_set(user=request.user, changes={k: bool(v) for k, v in form.cleaned_data.items()})
        messages.success(request, _("Your consent choices are saved. You can change them at any time in Settings."))
        return redirect(request.POST.get("next") == "settings" and "settings" or "dashboard")
    return render(request, "accounts/consent.html", {"form": form, "texts": PURPOSE_TEXTS})


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    titles = {t.purpose.value: t.title for t in PURPOSE_TEXTS}
    current = consents_of(user=request.user)
    consent_form = ConsentForm(current=current)
    mode_form = ModeForm(request.POST or None, initial={"mode": request.user.mode})
    if request.method == "POST" and mode_form.is_valid():
        user_set_mode(user=request.user, mode=mode_form.cleaned_data["mode"])
        messages.success(request, _("Saved."))
        return redirect("settings")
    return render(
        request,
        "accounts/settings.html",
        {
            "consent_form": consent_form,
            "mode_form": mode_form,
            "history": [
                {"event": e, "title": _(titles[e.purpose]) if e.purpose in titles else e.purpose}
                for e in consent_history_of(user=request.user)[:20]
            ],
        },
    )


@login_required
@require_GET
def export_view(request: HttpRequest) -> HttpResponse:
    data = user_export(user=request.user)
    response = HttpResponse(json.dumps(data, indent=2, default=str), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="attune-{request.user.participant_code}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete_view(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, username=request.user.username)
    if request.method == "POST" and form.is_valid():
        user = request.user
        keeps_research = consents_of(user=user)["research_data"]
        user_erase(user=user)
        logout(request)
        messages.info(
            request,
            _("Your account is deleted.")
            + " "
            + (
                _("As you allowed, your ratings and sessions stay in studies under an anonymous code.")
                if keeps_research
                else _("Your ratings, sessions and emotion data were deleted.")
            ),
        )
        return redirect("home")
    return render(request, "accounts/delete.html", {"form": form})
