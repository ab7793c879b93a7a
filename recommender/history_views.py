"""Pages for the listener's own streaming history: upload it, see what matched, delete it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from recommender import conf
from recommender.selectors import history_summary
from recommender.services.history import history_delete, history_import


def _page(request: HttpRequest, *, errors=(), result=None, status: int = 200) -> HttpResponse:
    context = {
        "summary": history_summary(user=request.user),
        "errors": list(errors),
        "result": result,
        "max_mb": conf.HISTORY_MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "recommender/history.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def history_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, errors=[_("Choose a file to upload.")], status=400)
    if upload.size > conf.HISTORY_MAX_UPLOAD_BYTES:
        return _page(
            request,
            errors=[
                _("The file is larger than %(mb)s MB; upload the history files one by one.")
                % {"mb": conf.HISTORY_MAX_UPLOAD_BYTES // (1024 * 1024)}
            ],
            status=413,
        )
    data = b"".join(upload.chunks())
    try:
        result = history_import(user=request.user, name=upload.name or "", data=data)
    except ValidationError as exc:
        return _page(request, errors=exc.messages, status=400)
    return _page(request, result=result)


@login_required
@require_POST
def history_delete_view(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        return _page(request, errors=[_("Tick the box to confirm that your imported history should be deleted.")], status=400)
    deleted = history_delete(user=request.user)
    messages.success(
        request,
        ngettext(
            "Your imported streaming history is deleted (%(count)d play).",
            "Your imported streaming history is deleted (%(count)d plays).",
            deleted,
        )
        % {"count": deleted},
    )
    return redirect("recommender:history")
