"""The consent purposes Attune asks for, in plain words. Pure: imports nothing from Django models.

Every purpose is off until the person turns it on. The text version is recorded with every
change in the audit log, so a later wording change never rewrites what someone agreed to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    RESEARCH_DATA = "research_data"
    WEBCAM_INFERENCE = "webcam_inference"
    EMOTION_TRACE = "emotion_trace"
    THERAPIST_SHARING = "therapist_sharing"


def _(message: str) -> str:
    """Marks a text for `makemessages` (this module imports nothing from Django); the consent
    form shows it translated (accounts.forms.ConsentForm)."""
    return message


@dataclass(frozen=True)
class PurposeText:
    purpose: Purpose
    title: str
    explanation: str


PURPOSE_TEXTS: tuple[PurposeText, ...] = (
    PurposeText(
        Purpose.RESEARCH_DATA,
        _("Use my ratings and sessions in research"),
        _(
            "Your song ratings and listening sessions may be used in studies and research exports. "
            "Researchers only ever see your random participant code, never your pseudonym. "
            "Without this, survey answers are not stored and you are not entered into experiments."
        ),
    ),
    PurposeText(
        Purpose.WEBCAM_INFERENCE,
        _("Let the webcam read my facial expression"),
        _(
            "When you switch the camera on, video frames are analysed live on our server to estimate "
            "your mood. Frames are never stored anywhere; only the estimate is sent back to you."
        ),
    ),
    PurposeText(
        Purpose.EMOTION_TRACE,
        _("Keep a per-second mood trace with my sessions"),
        _(
            "While the webcam is on during a listening session, one averaged mood estimate per second "
            "may be saved with that session (numbers only, no pictures)."
        ),
    ),
    PurposeText(
        Purpose.THERAPIST_SHARING,
        _("Share my sessions with my therapist"),
        _(
            "If you link to a therapist, they may see your listening sessions, moods and reflections. "
            "You can end the link or switch this off at any time and their access ends at once."
        ),
    ),
)

PURPOSES: tuple[str, ...] = tuple(p.value for p in Purpose)


def is_purpose(value: object) -> bool:
    return isinstance(value, str) and value in PURPOSES
