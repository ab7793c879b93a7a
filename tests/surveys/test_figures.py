"""The admin pictures (pure SVG builders): well-formed, escaped, numbers in the description."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from studies.surveys.figures import alpha_bars, heat_map, value_bars

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    return root


def test_alpha_bars_state_every_value_and_mark_undefined_ones():
    root = _parse(alpha_bars([("Wonder", 0.81), ("Tension", float("nan")), ("Sadness", -0.4)], 0.52, title="Alpha"))
    desc = root.find(f"{NS}desc").text
    assert "Wonder: 0.81" in desc and "Tension: n/a" in desc and "Sadness: -0.40" in desc and "Overall: 0.52" in desc
    bars = [r for r in root.iter(f"{NS}rect") if r.get("fill") not in (None, "none")]
    assert len(bars) == 3  # wonder, sadness, overall; the undefined one is an empty outline
    widths = {float(r.get("width")) for r in bars}
    assert all(w > 0 and math.isfinite(w) for w in widths)


def test_labels_are_escaped():
    svg = value_bars([("<script>alert(1)</script>", 0.5, "a & b")], title="T <x>", testid="t")
    root = _parse(svg)
    assert "<script>" not in svg and root.find(f"{NS}title").text == "T <x>"


def test_heat_map_prints_counts_and_counts_the_diagonal():
    root = _parse(heat_map([[5, 1], [2, 4]], ["sadness", "power"], title="Confusion"))
    texts = [t.text for t in root.iter(f"{NS}text")]
    for n in ("5", "1", "2", "4"):
        assert n in texts
    assert root.find(f"{NS}desc").text.startswith("9 of 12 held-out tracks on the diagonal")
