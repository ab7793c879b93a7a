"""Time-limited signed links to a track's audio, for playlists exported as M3U.

An M3U file is played by programs that have no Attune log-in (VLC, a phone's music player),
so its entries carry a signature instead: the track id and the person who exported it, signed
with the site's SECRET_KEY (django.core.signing, HMAC-SHA256) and stamped with the time. A
link plays only while it is younger than `conf.AUDIO_LINK_DAYS`, while that person's account
is active, and while the track is in one of that person's playlists; otherwise it is refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core import signing
from django.utils import timezone

from recommender import conf

SALT = "attune.recommender.audio-link"


class LinkExpired(Exception):
    """A well-signed link older than its validity."""


def audio_link_token(*, user_id: int, track_id: int) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"u": int(user_id), "t": int(track_id)})


def audio_link_valid_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(days=conf.AUDIO_LINK_DAYS)


def audio_link_user_id(*, token: str, track_id: int) -> int | None:
    """The id of the person a valid link for `track_id` was made for; None if the token is not
    a signature of ours for this track. Raises LinkExpired when it is ours but too old."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        value = signer.unsign_object(token, max_age=timedelta(days=conf.AUDIO_LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(value, dict) or value.get("t") != track_id or not isinstance(value.get("u"), int):
        return None
    return value["u"]
