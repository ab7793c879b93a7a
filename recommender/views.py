"""Pages of the recommender: make a playlist, see why each track was chosen, play, export."""

from __future__ import annotations

import re
from pathlib import PurePath

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework import serializers

from accounts.models import User
from emotion.labels import fer_info, gems_info
from emotion.vocab import GEMS_INFO
from recommender import conf
from recommender.api import PlaylistInputSerializer, create_from_validated
from recommender.audio_links import LinkExpired, audio_link_token, audio_link_user_id, audio_link_valid_until
from recommender.charts import va_path_svg
from recommender.csv_export import csv_lines
from recommender.engine.types import STRATEGIES
from recommender.explain import playlist_title, strategy_help, strategy_label
from recommender.models import PlaylistItem, Track
from recommender.selectors import (
    listener_reasons,
    playlist_get,
    playlists_visible_to,
    resolve_labels,
    strategy_options,
)
from recommender.uploads import AUDIO_CONTENT_TYPES


def _flatten_errors(detail, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            label = "" if key in ("non_field_errors", "detail") else f"{prefix}{key}: "
            out.extend(_flatten_errors(value, label))
        return out
    if isinstance(detail, list):
        out = []
        for value in detail:
            out.extend(_flatten_errors(value, prefix))
        return out
    return [f"{prefix}{detail}"]


def _form_to_input(post) -> dict:
    """The HTML form's flat fields -> the API's JSON shape (validated by the same serializer)."""
    data: dict = {"strategy": post.get("strategy", ""), "title": post.get("title", "")}
    data["start"] = {"emotion": post.get("start", "")}
    if post.get("start_fer"):
        data["start"] = {"fer": post["start_fer"]}
    if post.get("target"):
        data["target"] = {"emotion": post["target"]}
    length = post.get("length", "").strip()
    if length:
        data["minutes" if post.get("unit") == "minutes" else "n_tracks"] = length
    constraints: dict = {"allow_explicit": post.get("allow_explicit") == "on"}
    if post.get("max_per_artist", "").strip():
        constraints["max_per_artist"] = post["max_per_artist"].strip()
    if post.getlist("preferred_genres"):
        constraints["preferred_genres"] = post.getlist("preferred_genres")
    if post.getlist("disliked_genres"):
        constraints["disliked_genres"] = post.getlist("disliked_genres")
    data["constraints"] = constraints
    if post.get("seed_track_id", "").strip():
        data["seed_track_id"] = post["seed_track_id"].strip()
    if post.get("seed", "").strip():
        data["seed"] = post["seed"].strip()
    return data


@login_required
@require_http_methods(["GET", "POST"])
def playlist_new_view(request: HttpRequest) -> HttpResponse:
    errors: list[str] = []
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        serializer = PlaylistInputSerializer(data=_form_to_input(request.POST))
        try:
            serializer.is_valid(raise_exception=True)
            playlist = create_from_validated(owner=request.user, data=serializer.validated_data)
        except serializers.ValidationError as exc:
            errors = _flatten_errors(exc.detail)
        except ValidationError as exc:
            errors = _flatten_errors(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
        else:
            return redirect("recommender:playlist-detail", playlist_id=playlist.pk)
    genres = sorted(g for g in Track.objects.exclude(genre="").values_list("genre", flat=True).distinct() if g)
    seed_tracks = Track.objects.order_by("artist", "title").only("id", "title", "artist")[:500]
    context = {
        "strategies": strategy_options(STRATEGIES),
        "gems": gems_info(),
        "fer": fer_info(),
        "genres": genres,
        "seed_tracks": seed_tracks,
        "errors": errors,
        "values": values,
        "track_count": Track.objects.count(),
    }
    return render(request, "recommender/playlist_new.html", context, status=400 if errors else 200)


@login_required
@require_GET
def playlist_list_view(request: HttpRequest) -> HttpResponse:
    from django.db.models import Count

    playlists = list(playlists_visible_to(viewer=request.user).annotate(track_count=Count("items"))[:200])
    for p in playlists:
        p.strategy_label = strategy_label(p.strategy)
        p.display_title = playlist_title(title=p.title, strategy=p.strategy, number=p.pk)
    return render(request, "recommender/playlist_list.html", {"playlists": playlists})


def _dominant(gems) -> tuple[str, str] | None:
    if not gems:
        return None
    i = max(range(len(gems)), key=lambda k: gems[k])
    return GEMS_INFO[i].emoji, gettext(GEMS_INFO[i].label)


@login_required
@require_GET
def playlist_detail_view(request: HttpRequest, playlist_id: int) -> HttpResponse:
    playlist = playlist_get(viewer=request.user, playlist_id=playlist_id)
    if playlist is None:
        raise Http404(gettext("No such playlist."))
    items = list(playlist.items.all())
    labels = resolve_labels([i.track_id for i in items])
    track_points = [
        None if not labels.labelled[k] else (float(labels.va[k, 0]), float(labels.va[k, 1])) for k in range(len(items))
    ]
    whys = listener_reasons(
        strategy=playlist.strategy,
        start_va=playlist.start_va,
        target_va=playlist.target_va,
        steps=[
            (i.track_id, None if i.waypoint_valence is None else (i.waypoint_valence, i.waypoint_arousal))
            for i in items
        ],
    )
    rows = []
    for k, item in enumerate(items):
        rows.append({
            "item": item,
            "track": item.track,
            "label_source": labels.sources[k],
            "track_va": track_points[k],
            "mood": _dominant(list(labels.gems[k])) if labels.labelled[k] else None,
            "why": whys[k],
        })
    waypoints = [(i.waypoint_valence, i.waypoint_arousal) for i in items if i.waypoint_valence is not None]
    svg = va_path_svg(
        waypoints=waypoints,
        tracks=track_points,
        titles=[i.track.title for i in items],
        start=tuple(playlist.start_va),
        target=tuple(playlist.target_va) if playlist.target_va else None,
        translate=gettext,
    )
    total_minutes = sum((i.track.duration_s or 0) for i in items) / 60.0
    context = {
        "playlist": playlist,
        "rows": rows,
        "svg": svg,
        "total_minutes": total_minutes,
        "start_mood": _dominant(playlist.start_gems),
        "target_mood": _dominant(playlist.target_gems),
        "strategy_help": strategy_help(playlist.strategy),
        "strategy_label": strategy_label(playlist.strategy),
        "display_title": playlist_title(title=playlist.title, strategy=playlist.strategy, number=playlist.pk),
        "audio_link_days": conf.AUDIO_LINK_DAYS,
        "audio_link_until": audio_link_valid_until(),
    }
    return render(request, "recommender/playlist_detail.html", context)


def _safe_filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "playlist"


@login_required
@require_GET
def playlist_export_view(request: HttpRequest, playlist_id: int, fmt: str) -> HttpResponse:
    playlist = playlist_get(viewer=request.user, playlist_id=playlist_id)
    if playlist is None:
        raise Http404(gettext("No such playlist."))
    items = list(playlist.items.all())
    name = _safe_filename(playlist.title or f"attune-playlist-{playlist.pk}")
    if fmt == "csv":
        header = ["position", "track_id", "external_id", "title", "artist", "album", "genre", "duration_s",
                  "waypoint_valence", "waypoint_arousal", "distance", "reason"]
        rows = (
            [item.position, item.track.pk, item.track.external_id, item.track.title, item.track.artist,
             item.track.album, item.track.genre, item.track.duration_s, item.waypoint_valence,
             item.waypoint_arousal, item.distance, item.reason]
            for item in items
        )
        response = HttpResponse("".join(csv_lines(header, rows)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "m3u":
        lines = [
            "#EXTM3U",
            f"#PLAYLIST:{(playlist.title or f'Attune playlist {playlist.pk}').replace(chr(10), ' ')}",
            f"# Attune: these links play without a log-in until {audio_link_valid_until():%Y-%m-%d %H:%M} UTC; "
            "then export the playlist again. Anyone with this file can play them until then.",
        ]
        for item in items:
            t = item.track
            artist_title = f"{t.artist} - {t.title}" if t.artist else t.title
            lines.append(f"#EXTINF:{int(round(t.duration_s or -1))},{artist_title.replace(chr(10), ' ')}")
            if t.audio_file:
                token = audio_link_token(user_id=request.user.pk, track_id=t.pk)
                lines.append(request.build_absolute_uri(reverse("recommender:track-audio-link", args=[t.pk, token])))
            elif t.preview_url:
                lines.append(t.preview_url)
            else:
                lines.append(f"attune:track:{t.external_id or t.pk}")
        response = HttpResponse("\n".join(lines) + "\n", content_type="audio/x-mpegurl; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.m3u"'
        return response
    raise Http404(gettext("Unknown export format."))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_RANGE_BYTES = 1024 * 1024  # the most one 206 answer holds in memory


@login_required
@require_GET
def track_audio_view(request: HttpRequest, track_id: int) -> HttpResponse:
    """A track's audio, with single byte-range support so the browser's player can seek."""
    return _audio_response(request, track_id)


@require_GET
def track_audio_link_view(request: HttpRequest, track_id: int, token: str) -> HttpResponse:
    """A track's audio through a signed, time-limited link from an exported M3U (no log-in):
    only for a track in one of the signer's playlists, while their account is active."""

    try:
        user_id = audio_link_user_id(token=token, track_id=track_id)
    except LinkExpired:
        return HttpResponse(
            gettext("This link has expired. Export the playlist from Attune again for fresh links.") + "\n",
            status=410, content_type="text/plain; charset=utf-8",
        )
    user = User.objects.filter(pk=user_id, is_active=True, erased_at__isnull=True).first() if user_id else None
    if user is None or not PlaylistItem.objects.filter(
        track_id=track_id, playlist__in=playlists_visible_to(viewer=user)
    ).exists():
        raise Http404(gettext("No such audio link."))
    response = _audio_response(request, track_id)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _audio_response(request: HttpRequest, track_id: int) -> HttpResponse:
    track = Track.objects.filter(pk=track_id).only("id", "audio_file").first()
    if track is None or not track.audio_file:
        raise Http404(gettext("This track has no audio file."))
    storage, name = track.audio_file.storage, track.audio_file.name
    try:
        size = storage.size(name)
        handle = storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404(gettext("The audio file is missing.")) from None
    # Only audio content types, whatever was stored: a file with any other extension (one that
    # reached storage before uploads were checked by content) is not served at all.
    content_type = AUDIO_CONTENT_TYPES.get(PurePath(name).suffix.lower())
    if content_type is None:
        handle.close()
        raise Http404(gettext("This track's file is not audio."))
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(size - int(last), 0), size - 1
        if start > end or start >= size:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        # A browser asks for "bytes=0-" (the whole file): answer at most MAX_RANGE_BYTES and let
        # it ask for the rest (a shorter 206 is allowed by RFC 9110 section 14.2).
        end = min(end, start + MAX_RANGE_BYTES - 1)
        handle.seek(start)
        body = handle.read(end - start + 1)
        handle.close()
        response = HttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return media_headers(response, filename=f"track-{track.pk}{PurePath(name).suffix.lower()}")


def media_headers(response: HttpResponse, *, filename: str) -> HttpResponse:
    """Headers every stored file is served with: never sniffed into another type, never run
    as a page (a sandboxed, script-less CSP), shown inline under a name we chose."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
