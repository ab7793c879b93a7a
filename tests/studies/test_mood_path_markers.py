"""History picture (issue 14, item 8): when the goal is reached, the end marker is drawn above
the target star, so the end of the path stays visible."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from studies import plots

SVG = "{http://www.w3.org/2000/svg}"


def test_end_marker_is_drawn_above_the_target_star():
    svg = plots.mood_path_plot([plots.MoodPath("s", pre=(-0.5, 0.5), post=(0.5, -0.5), target=(0.5, -0.5))],
                               title="Reached")
    root = ET.fromstring(svg)
    ids = [g.get("id") for g in root.iter(f"{SVG}g") if g.get("id")]
    assert "post-s" in ids and "target-s" in ids
    assert ids.index("post-s") > ids.index("target-s")  # SVG paints later elements on top
