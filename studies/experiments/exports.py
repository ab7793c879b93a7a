"""CSV exports of an experiment's sessions and events (keyed by participant code only)."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from recommender.csv_export import csv_lines, safe_cell

__all__ = ["csv_lines", "csv_response", "safe_cell"]


def csv_response(*, experiment_name: str, what: str, header: Iterable[str], rows: Iterable[tuple]):
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    name = slugify(experiment_name) or "experiment"
    response["Content-Disposition"] = f'attachment; filename="{name}-{what}.csv"'
    return response
