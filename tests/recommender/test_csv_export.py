"""The shared CSV helper: formula neutralising and streaming lines."""

from __future__ import annotations

import csv
import io

import pytest

from recommender.csv_export import csv_line, csv_lines, safe_cell


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_text_is_prefixed(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["iso", "", "a=b", " =x", "'=x", "naïve"])
def test_plain_text_is_unchanged(value):
    assert safe_cell(value) == value


def test_numbers_stay_numbers_and_none_is_blank():
    assert safe_cell(-0.5) == -0.5 and isinstance(safe_cell(-3), int) and safe_cell(True) is True
    assert safe_cell(None) == ""


def test_csv_lines_streams_header_and_safe_rows():
    lines = csv_lines(["title", "n"], iter([("=1+1", -2), ("ok, quoted", None)]))
    first = next(lines)
    assert first == "title,n\r\n"  # a generator: the header comes before any row is read
    rest = list(lines)
    parsed = list(csv.reader(io.StringIO(first + "".join(rest))))
    assert parsed == [["title", "n"], ["'=1+1", "-2"], ["ok, quoted", ""]]
    assert csv_line(["@x", 1.5]) == "'@x,1.5\r\n"
