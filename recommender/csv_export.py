"""CSV helpers shared by every export (pure: no Django).

`safe_cell` neutralises spreadsheet formulas (CSV injection, OWASP): a text cell starting
with = + - @ TAB or CR gets a leading apostrophe so Excel/LibreOffice show it as text.
Numbers (int, float, bool) pass unchanged, None becomes "". `csv_lines` streams a CSV one
line at a time (for a StreamingHttpResponse) with every cell made safe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value ready for a CSV cell: formula-looking text prefixed with ', numbers kept."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line (csv.writer into a generator)."""

    def write(self, value: str) -> str:
        return value


def csv_line(row: Iterable[object]) -> str:
    """One CSV line (with its line ending) of safe cells."""
    return csv.writer(_Echo()).writerow([safe_cell(v) for v in row])


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header line, then one line per row; every cell goes through safe_cell."""
    writer = csv.writer(_Echo())
    yield writer.writerow([safe_cell(v) for v in header])
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])
