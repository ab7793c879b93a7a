"""Browser test (issue 17): a researcher imports a generated Emotify-layout file and a
DEAM-layout file in the admin; the Emotify one shows its agreement and rater figures, the DEAM
one its match rate; the catalog's tracks then carry `dataset` labels."""

from __future__ import annotations

import json
import re

import pytest

from emotion.vocab import GEMS
from tests.e2e.browser import DEMO_PASSWORD, log_in, shot

pytestmark = pytest.mark.e2e
TRACKS_JSON = "import json; from recommender.models import Track; print(json.dumps(list(Track.objects.order_by('id').values_list('external_id', flat=True))))"
LABELS_JSON = "import json; from recommender.models import TrackLabel; print(TrackLabel.objects.filter(source='dataset').count())"


def emotify_csv(ids: list[str]) -> bytes:
    names = ["amazement", "solemnity", "tenderness", "nostalgia", "calmness", "power", "joyful_activation", "tension", "sadness"]
    lines = ["track id,rater,genre," + ",".join(names) + ",mood,liked,disliked,age,gender,mother tongue"]
    for t, ext in enumerate(ids[:6]):
        for r in range(4):
            pick = GEMS[(t + (r == 3)) % 9]  # three raters agree, the fourth picks the next emotion
            flags = ["1" if g == pick else "0" for g in GEMS]
            lines.append(f"{ext},rater{r},classical," + ",".join(flags) + ",3,1,0,30,1,English")
    lines.append("not-in-catalog,rater0,classical,1,0,0,0,0,0,0,0,0,3,1,0,30,1,English")
    return ("\n".join(lines) + "\n").encode()


def upload(page, name: str, shape: str, filename: str, data: bytes) -> str:
    page.goto("/admin/surveys/labeldataset/add/")
    page.get_by_label("Name:").fill(name)
    page.get_by_label("Shape:").select_option(shape)
    page.get_by_label("CSV file:").set_input_files(files=[{"name": filename, "mimeType": "text/csv", "buffer": data}])
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(r".*/admin/surveys/labeldataset/\d+/change/"))
    return page.content()


def test_researcher_imports_emotify_and_deam(demo_catalog, page):
    ids = json.loads(demo_catalog.manage("shell", "-c", TRACKS_JSON).strip().splitlines()[-1])
    log_in(page, "demo-researcher", DEMO_PASSWORD)

    html = upload(page, "Emotify (generated)", "raters", "emotify.csv", emotify_csv(ids))
    assert "6 of 7 (86%)" in html and "Krippendorff" in html and "rater3" in html
    assert "not-in-catalog" in html  # the unmatched song is listed
    shot(page, "dataset-emotify")

    deam = "file,valence,arousal\n" + "".join(f"{ext}.mp3,{1 + i % 9},{9 - i % 9}\n" for i, ext in enumerate(ids[6:10]))
    html = upload(page, "DEAM (generated)", "va", "deam.csv", deam.replace("file,", "external_id,").replace(".mp3", "").encode())
    assert "4 of 4 (100%)" in html

    bad = upload(page, "Broken", "va", "broken.csv", b"external_id,valence,arousal\nx,99,1\n")
    assert "nothing was imported" in bad and "line 2" in bad

    page.goto("/admin/surveys/labeldataset/")
    listing = page.content()
    assert "Emotify (generated)" in listing and "DEAM (generated)" in listing
    assert int(demo_catalog.manage("shell", "-c", LABELS_JSON).strip().splitlines()[-1]) == 10
    assert page.js_errors == []
