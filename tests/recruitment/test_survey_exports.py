"""A survey run through a recruitment link: the task is rating, and its long CSV, codebook and
.sav carry the GEMS answers and the instrument answers."""

from __future__ import annotations

import io

import pandas as pd
import pyreadstat
import pytest

from studies.recruitment import services
from studies.surveys.models import Rating
from tests.recruitment.conftest import STAI_ANXIOUS, STAI_CALM
from tests.surveys.conftest import make_survey, submit, tracks  # noqa: F401 - fixtures


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db
def test_survey_round_trip_and_exports(client, researcher, make_survey, submit, tracks, make_link, tmp_path):  # noqa: F811
    survey = make_survey(response_format="intensity")
    link = make_link(survey=survey, pre_instruments=["stai6"], post_instruments=["stai6"], min_survey_ratings=2)
    e = services.enrollment_enter(link=link, params=services.EntryParams(external_id="a" * 24)).enrollment
    e = services.enrollment_consent(enrollment=e, consent=True, eligible=True)
    services.instrument_submit(enrollment=e, instrument="stai6", phase="pre", answers=STAI_ANXIOUS)
    assert services.next_step(e).step == "task"
    for track in survey.tracks.all()[:2]:
        submit(e.user, survey, track)
    assert services.next_step(e) == services.NextStep("post", "stai6")
    services.instrument_submit(enrollment=e, instrument="stai6", phase="post", answers=STAI_CALM)
    assert services.enrollment_complete(enrollment=e).endswith("cc=C1A2B3")

    client.force_login(researcher)
    long = pd.read_csv(io.BytesIO(_body(client.get(f"/research/survey/{survey.pk}/long.csv"))),
                       keep_default_na=False, dtype=str)
    for r in Rating.objects.filter(survey=survey):
        rows = long[(long.unit == "track") & (long.unit_id == str(r.track_id))]
        assert [int(rows[rows.variable == f"gems_{g}"].value.iloc[0]) for g in
                ("wonder", "tenderness", "sadness")] == [r.answer[0], r.answer[2], r.answer[8]]
    totals = long[long.variable == "stai6_total"].set_index("phase").value.astype(float)
    assert totals["pre"] == pytest.approx(22 * 20 / 6, abs=1e-5) and totals["post"] == pytest.approx(20.0)
    cb = pd.read_csv(io.BytesIO(_body(client.get(f"/research/survey/{survey.pk}/codebook.csv"))),
                     keep_default_na=False, dtype=str).set_index("variable")
    assert cb.loc["gems_sadness", "allowed_values"] == "0–4"
    assert set(long.variable) <= set(cb.index)
    path = tmp_path / "survey.sav"
    path.write_bytes(_body(client.get(f"/research/survey/{survey.pk}/data.sav")))
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame[frame.unit == "track"]) == 2
    assert meta.column_names_to_labels["liking"] == "Liking of the track"
