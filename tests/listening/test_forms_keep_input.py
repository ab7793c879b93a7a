"""Every listening form keeps what the person entered when it is shown again after an error
(issue 14, items 1-2), and a finished session is never stored without the answers given."""

import re

from django.urls import reverse

from studies.listening.models import ListeningSession, SessionStatus
from tests.listening.test_views import START_FORM


def _checked(html: str, testid: str) -> bool:
    tag = re.search(rf'<input[^>]*data-testid="{testid}"[^>]*>', html)
    assert tag, testid
    return " checked" in tag.group(0)


def _value(html: str, testid: str) -> str:
    tag = re.search(rf'<input[^>]*data-testid="{testid}"[^>]*>', html).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def test_start_error_keeps_current_mood_pad_and_strategy(client, participant, catalog):
    client.force_login(participant)
    form = {**START_FORM, "current_gems": ["tension", "sadness"], "current_valence": "-0.5", "current_arousal": "0.3",
            "current_source": "gems", "desired_choice": "state", "strategy": "iso"}  # no desired mood: an error
    response = client.post(reverse("listening:session-new"), form)
    html = response.content.decode()
    assert response.status_code == 400 and not ListeningSession.objects.exists()
    assert _checked(html, "current-gems-tension") and _checked(html, "current-gems-sadness")
    assert not _checked(html, "current-gems-wonder")
    assert _value(html, "current-valence") == "-0.5" and _value(html, "current-arousal") == "0.3"
    assert 'id="id_current_source" value="gems"' in html
    assert _checked(html, "desired-state") and _checked(html, "strategy-iso")
    # the missing goal is said once, in plain words, beside the second instrument and in the summary
    assert "Say where you would like to be" in html and "Where you want to be:" not in html
    assert html.count("Tell us how you feel") == 0
    assert 'data-testid="desired-errors"' in html


def test_start_error_keeps_the_pad_when_the_length_is_wrong(client, participant, catalog):
    client.force_login(participant)
    form = {**START_FORM, "current_gems": [], "current_source": "va", "current_valence": "0.25",
            "current_arousal": "-0.75", "length_value": "2.5"}
    html = client.post(reverse("listening:session-new"), form).content.decode()
    assert "whole number" in html
    assert _value(html, "current-valence") == "0.25" and _value(html, "current-arousal") == "-0.75"
    assert 'id="id_current_source" value="va"' in html


def test_finish_error_keeps_rating_and_text_and_resubmission_stores_them(client, participant, catalog):
    client.force_login(participant)
    client.post(reverse("listening:session-new"), START_FORM)
    session = ListeningSession.objects.get()
    url = reverse("listening:session-finish", args=[session.pk])
    bad = client.post(url, {"reflection_rating": "4", "reflection_text": "Calmer"})  # no post mood
    html = bad.content.decode()
    assert bad.status_code == 400
    assert _checked(html, "rating-4") and not _checked(html, "rating-5") and "Calmer" in html
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE and session.reflection_rating is None
    # the person fixes only the mood; the kept rating and text are sent again with it
    ok = client.post(url, {"reflection_rating": "4", "reflection_text": "Calmer", "post_gems": ["peacefulness"],
                           "post_source": "gems"})
    assert ok.status_code == 302
    session.refresh_from_db()
    assert (session.status, session.reflection_rating, session.reflection_text) == ("completed", 4, "Calmer")


def test_finish_refuses_a_rating_outside_1_to_5_and_stores_nothing(client, participant, catalog):
    client.force_login(participant)
    client.post(reverse("listening:session-new"), START_FORM)
    session = ListeningSession.objects.get()
    url = reverse("listening:session-finish", args=[session.pk])
    bad = client.post(url, {"reflection_rating": "9", "post_gems": ["peacefulness"], "post_source": "gems"})
    assert bad.status_code == 400 and "Rating:" in bad.content.decode()
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE
    assert _checked(bad.content.decode(), "post-gems-peacefulness")
