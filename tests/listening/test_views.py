import pytest
from django.urls import reverse

from studies.listening import hooks
from studies.listening.models import ListeningSession


@pytest.fixture
def logged_in(client, participant):
    client.force_login(participant)
    return client


START_FORM = {
    "current_gems": ["sadness"],
    "current_source": "gems",
    "desired_choice": "suggest",
    "length_kind": "tracks",
    "length_value": "4",
    "strategy": "iso",
}


def test_start_page_renders_instruments(logged_in):
    r = logged_in.get(reverse("listening:session-new"))
    html = r.content.decode()
    assert r.status_code == 200
    assert "😢" in html and 'role="slider"' in html and 'name="current_valence"' in html
    assert 'data-testid="strategy-iso"' in html and "Let Attune suggest" in html


def test_start_page_hides_strategy_when_an_experiment_decides(logged_in):
    old = hooks.install_strategy_chooser(lambda *, user, mode: hooks.StrategyChoice("random", {}, "e:1/v:1"))
    try:
        html = logged_in.get(reverse("listening:session-new")).content.decode()
    finally:
        hooks.install_strategy_chooser(old)
    assert 'data-testid="experiment-decides"' in html and 'data-testid="strategy-iso"' not in html


def test_start_posts_and_redirects_to_the_player(logged_in, catalog):
    r = logged_in.post(reverse("listening:session-new"), START_FORM)
    s = ListeningSession.objects.get()
    assert r.status_code == 302 and r.url == reverse("listening:session-play", args=[s.pk])
    assert s.target_source == "mapping" and s.pre_source == "gems" and s.length_tracks == 4
    page = logged_in.get(r.url).content.decode()
    assert "listening-player-config" in page and s.queue.first().track.title in page


def test_start_with_pad_and_stated_target(logged_in, catalog):
    form = {**START_FORM, "current_gems": [], "current_source": "va", "current_valence": "-0.5",
            "current_arousal": "0.6", "desired_choice": "state", "desired_source": "va",
            "desired_valence": "0.5", "desired_arousal": "-0.5", "length_kind": "minutes", "length_value": "5"}
    assert logged_in.post(reverse("listening:session-new"), form).status_code == 302
    s = ListeningSession.objects.get()
    assert (s.pre_valence, s.pre_arousal, s.target_valence, s.length_minutes) == (-0.5, 0.6, 0.5, 5.0)


@pytest.mark.parametrize(
    "change",
    [
        {"current_gems": [], "current_source": ""},
        {"current_gems": ["boredom"]},
        {"current_gems": [], "current_source": "va", "current_valence": "3", "current_arousal": "0"},
        {"length_value": "2.5"},
        {"length_value": "0"},
        {"desired_choice": "state"},
    ],
)
def test_start_form_errors_rerender_and_write_nothing(logged_in, catalog, change):
    r = logged_in.post(reverse("listening:session-new"), {**START_FORM, **change})
    assert r.status_code == 400
    assert ListeningSession.objects.count() == 0


def test_pages_require_login(client):
    r = client.get(reverse("listening:session-new"))
    assert r.status_code == 302 and "login" in r.url


def test_other_peoples_pages_are_404(client, make_user, catalog):
    owner, other = make_user(), make_user()
    client.force_login(owner)
    client.post(reverse("listening:session-new"), START_FORM)
    s = ListeningSession.objects.get()
    client.force_login(other)
    assert client.get(reverse("listening:session-play", args=[s.pk])).status_code == 404
    assert client.post(reverse("listening:session-finish", args=[s.pk]), {"post_gems": ["wonder"]}).status_code == 404
    assert ListeningSession.objects.get().status == "active"


def test_finish_and_history(logged_in, catalog):
    logged_in.post(reverse("listening:session-new"), START_FORM)
    s = ListeningSession.objects.get()
    bad = logged_in.post(reverse("listening:session-finish", args=[s.pk]), {"reflection_rating": "4"})
    assert bad.status_code == 400
    r = logged_in.post(
        reverse("listening:session-finish", args=[s.pk]),
        {"post_gems": ["peacefulness"], "post_source": "gems", "reflection_rating": "4", "reflection_text": "calmer"},
    )
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.status == "completed" and s.reflection_rating == 4 and s.reflection_text == "calmer"
    again = logged_in.post(reverse("listening:session-finish", args=[s.pk]), {"post_gems": ["wonder"]})
    assert again.status_code == 302
    html = logged_in.get(reverse("listening:session-history")).content.decode()
    assert "<svg" in html and 'data-testid="mood-path"' in html and "Mood path" in html
    assert 'data-testid="tracks-played">0<' in html


def test_dashboard_panel_lists_recent_sessions(logged_in, catalog):
    logged_in.post(reverse("listening:session-new"), START_FORM)
    html = logged_in.get(reverse("dashboard")).content.decode()
    assert "Listening sessions" in html and "All my sessions" in html


def test_player_camera_panel_follows_consent(client, make_user, catalog):
    for consents, expect in (({}, "camera is off because"), ({"webcam_inference": True}, 'data-testid="cam-start"')):
        user = make_user(**consents)
        client.force_login(user)
        client.post(reverse("listening:session-new"), START_FORM)
        s = ListeningSession.objects.filter(user=user).get()
        html = client.get(reverse("listening:session-play", args=[s.pk])).content.decode()
        assert expect in html
    assert "Nothing from the camera is saved" in html  # webcam on, but no emotion_trace consent
