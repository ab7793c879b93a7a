"""Strategies that are not ready (the GAN before it is trained) are offered disabled with a
reason on every page where a person chooses one, and become choosable once ready (issue 14,
item 3). Listener names and help come from recommender.explain."""

from __future__ import annotations

import re

from django.urls import reverse

from recommender import index_cache
from recommender.engine.types import STRATEGIES
from recommender.selectors import GAN_NOT_READY, strategies_not_ready, strategy_options


def _option(html: str, name: str) -> str:
    return re.search(rf'<option value="{name}"[^>]*>[^<]*</option>', html).group(0)


def test_gan_is_not_ready_until_its_model_file_exists(db):
    assert strategies_not_ready() == {"gan": GAN_NOT_READY}
    options = {o.name: o for o in strategy_options(STRATEGIES)}
    assert options["gan"].not_ready and not options["iso"].not_ready
    assert options["iso"].label == "Step by step" and "iso principle" in options["iso"].help
    path = index_cache.gan_model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    assert strategies_not_ready() == {}


def test_playlist_page_offers_gan_disabled_with_the_reason(api, labelled_catalog):
    html = api.get(reverse("recommender:playlist-new")).content.decode()
    gan = _option(html, "gan")
    assert " disabled" in gan and "has not been trained" in gan
    assert " disabled" not in _option(html, "iso") and "Step by step" in _option(html, "iso")
    assert 'data-testid="strategy-not-ready-gan"' in html
    # posting it anyway is refused with a message and stores nothing
    response = api.post(reverse("recommender:playlist-new"), {"strategy": "gan", "start": "sadness", "target": "power",
                                                             "length": "4", "unit": "tracks"})
    assert response.status_code == 400 and "The GAN model has not been trained yet" in response.content.decode()


def test_assign_and_start_pages_offer_only_ready_strategies(client, therapist, participant, settings, db):
    from therapy import links

    link = links.invite_accept(client=participant, code=links.invite_create(therapist=therapist).code)
    client.force_login(therapist)
    html = client.get(reverse("therapy:assignment-new", args=[link.pk])).content.decode()
    assert " disabled" in _option(html, "gan")
    settings.ATTUNE_LISTENING_STRATEGIES = ("iso", "gan")
    client.force_login(participant)
    html = client.get(reverse("listening:session-new")).content.decode()
    radio = re.search(r'<input[^>]*data-testid="strategy-gan"[^>]*>', html).group(0)
    assert " disabled" in radio and 'data-testid="strategy-not-ready-gan"' in html
