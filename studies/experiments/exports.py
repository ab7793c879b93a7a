"""CSV exports of an experiment's sessions and events (keyed by participant code only)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils.text import slugify

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> object:
    """Neutralise spreadsheet formulas in text cells (CSV injection); numbers pass unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(header: Iterable[str], rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def csv_response(*, experiment_name: str, what: str, header: Iterable[str], rows: Iterable[tuple]):
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    name = slugify(experiment_name) or "experiment"
    response["Content-Disposition"] = f'attachment; filename="{name}-{what}.csv"'
    return response
