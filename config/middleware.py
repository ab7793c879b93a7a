"""Request guards that answer before any view runs, the same way for every route.

- A body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (uploads aside: multipart bodies are limited
  per file by the forms that take them) is answered 413, as JSON `{"detail": ...}` under
  /api/ and as plain text elsewhere — also when the size is only found while reading a
  chunked body (Django's RequestDataTooBig, which it would answer as an HTML 400).
- An integer URL parameter outside the 64-bit range names nothing: 404, before a database
  (SQLite) raises OverflowError on it.
- A number from a form or query too large for the database, wherever a view meets it: 400.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DataError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults

INT64_MAX = 2**63 - 1


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def too_large_response(request, length: int | None = None) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f"The request body is {length} bytes; " if length else "The request body is too large; "
    message = f"{size}the limit is {limit} bytes."
    if _is_api(request):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        content_type = request.META.get("CONTENT_TYPE", "")
        if limit is not None and not content_type.startswith("multipart/form-data"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return too_large_response(request, length)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
                if _is_api(request):
                    return JsonResponse({"detail": "Not found."}, status=404)
                raise Http404("No such object.")
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(request)
        if isinstance(exception, OverflowError) or (
            isinstance(exception, DataError) and "out of range" in str(exception)
        ):
            # A number from the request too large for the database (e.g. an id typed into a
            # form, which SQLite refuses with OverflowError and PostgreSQL with "out of range").
            message = "A number in the request is too large."
            if _is_api(request):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return None


def not_found(request, exception=None):
    """handler404: under /api/ a JSON 404 like every other API answer (the schema says so),
    elsewhere Django's page."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


class FriendlyErrorPagesMiddleware:
    """Under DEBUG (as `make run` serves), Django answers a 404 or 403 with its technical page,
    meant for the developer. A participant who follows a bad link gets the site's own page in the
    layout instead; staff still see the technical one. Without DEBUG, handler404/handler403 already
    render the site's pages and this does nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def _applies(self, request) -> bool:
        user = getattr(request, "user", None)
        return settings.DEBUG and not _is_api(request) and not (user is not None and user.is_staff)

    def __call__(self, request):
        response = self.get_response(request)
        technical = (
            settings.DEBUG
            and response.status_code in (403, 404)
            and response.get("Content-Type", "").startswith("text/html")
            and b"NONE,NOARCHIVE" in getattr(response, "content", b"")  # Django's technical page
        )
        if technical and _is_api(request) and response.status_code == 404:
            return JsonResponse({"detail": "Not found."}, status=404)  # as without DEBUG (handler404)
        if technical and self._applies(request):
            if response.status_code == 404:
                return defaults.page_not_found(request, Http404())
            return defaults.permission_denied(request, PermissionDenied())
        return response

    def process_exception(self, request, exception):
        """A view's Http404 or PermissionDenied keeps its reason on the friendly page."""
        if not self._applies(request):
            return None
        if isinstance(exception, Http404):
            return defaults.page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return defaults.permission_denied(request, exception)
        return None
