"""Pages of the emotion app: the mood check (webcam or self-report)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.selectors import has_consent
from emotion import conf
from emotion.labels import fer_info, gems_info

# What the browser sends: small frames, a few a second (the server drops anything faster
# than ATTUNE_FER_MAX_FPS anyway).
CLIENT_WIDTH, CLIENT_HEIGHT, CLIENT_QUALITY, CLIENT_FPS = 320, 240, 0.7, 3


def _circumplex_points() -> list[dict]:
    """FER classes placed on the circumplex, in SVG coordinates of a 200x200 box (-1..1 -> 10..190)."""
    return [
        {"label": e.label, "emoji": e.emoji, "x": round(100 + 90 * e.valence, 1), "y": round(100 - 90 * e.arousal, 1)}
        for e in fer_info()
    ]


def mood_panel_context(request: HttpRequest) -> dict:
    """Dashboard panel (participants): is the camera allowed, and are traces recorded?"""
    return {
        "camera_allowed": has_consent(request.user, "webcam_inference"),
        "trace_allowed": has_consent(request.user, "emotion_trace"),
    }


@login_required
@require_GET
def mood_check_view(request: HttpRequest) -> HttpResponse:
    camera_allowed = has_consent(request.user, "webcam_inference")
    return render(
        request,
        "emotion/mood_check.html",
        {
            "camera_allowed": camera_allowed,
            "expressions": fer_info(),
            "gems": gems_info(),
            "circumplex": _circumplex_points(),
            "client": {
                "width": CLIENT_WIDTH,
                "height": CLIENT_HEIGHT,
                "quality": CLIENT_QUALITY,
                "fps": min(CLIENT_FPS, conf.MAX_FPS),
                "wsPath": "/ws/emotion/",
                "loginUrl": reverse("account_login"),
                "consentUrl": reverse("consent"),
                "cameraAllowed": camera_allowed,
                "expressions": [{"name": e.name, "label": e.label, "emoji": e.emoji} for e in fer_info()],
                "gems": [
                    {"name": e.name, "label": e.label, "valence": e.valence, "arousal": e.arousal} for e in gems_info()
                ],
            },
        },
    )
