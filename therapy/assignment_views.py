"""Therapy pages (issue 7): a therapist assigns playlists to a client; the client starts an
assigned listening; the therapist downloads the client's outcomes. Thin: forms -> services,
reads through selectors that check the therapist's access themselves."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from recommender.csv_export import csv_lines
from recommender.engine.types import STRATEGIES
from recommender.models import Track
from recommender.selectors import strategy_options, tracks_search
from studies.listening.mood import MoodInput
from studies.listening.views import MoodFields, OneMoodForm, _apply_errors, _instrument_context, _mood_fields
from therapy import assignments
from therapy.assignments import Schedule, TargetMood
from therapy.selectors import (
    CLIENT_OUTCOME_COLUMNS,
    assignment_get,
    client_link_for,
    client_link_of,
    client_outcomes,
    occurrence_playable_for,
)


def _therapist_link(request, link_id: int):
    if not request.user.is_therapist:
        raise PermissionDenied(gettext("This page is for therapists."))
    link = client_link_for(therapist=request.user, link_id=link_id)
    if link is None:
        raise Http404(gettext("No such client."))
    return link


class AssignmentForm(MoodFields):
    kind = forms.ChoiceField(choices=[("generated", "generated"), ("curated", "curated")])
    strategy = forms.ChoiceField(required=False, choices=[(s, s) for s in STRATEGIES])
    seed_track_id = forms.IntegerField(required=False, min_value=1, max_value=2**62)
    length_kind = forms.ChoiceField(choices=[("tracks", "tracks"), ("minutes", "minutes")], initial="tracks", required=False)
    length_value = forms.FloatField(min_value=1, max_value=180, initial=6, required=False, label="Length")
    has_target = forms.BooleanField(required=False)
    track_ids = forms.TypedMultipleChoiceField(required=False, coerce=int, label="Tracks")  # choices checked by the service
    instructions = forms.CharField(required=False, max_length=2000)
    repeat = forms.ChoiceField(choices=[("once", "once"), ("daily", "daily"), ("weekly", "weekly")], initial="once")
    due_date = forms.DateField(required=False)
    start_date = forms.DateField(required=False)
    days = forms.IntegerField(required=False, min_value=1, max_value=366, initial=14, label="For (days)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_mood_fields("target"))
        self.fields.update(_mood_fields("start"))
        self.fields["track_ids"].valid_value = lambda value: True  # any id; the service checks the catalog

    def clean_track_ids(self):
        values = self.data.getlist("track_ids") if hasattr(self.data, "getlist") else []
        try:
            return [int(v) for v in values]
        except (TypeError, ValueError):
            raise forms.ValidationError(gettext("Track ids are whole numbers.")) from None

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        wants_target = kind == "generated" or data.get("has_target")
        data["target"] = None
        if wants_target and not (kind == "generated" and data.get("strategy") == "mapping"):
            try:
                data["target"] = self.mood(
                    "target", required=True,
                    missing=gettext("Give the target mood: choose feelings or place a point on the pad."),
                )
            except forms.ValidationError as exc:
                self.add_error("target_source", exc)
        data["start"] = None
        if kind == "generated":
            if (data.get("start_valence") is None) != (data.get("start_arousal") is None):
                self.add_error("start_source", gettext("Give both valence and arousal of the usual mood, or neither."))
            try:
                data["start"] = self.mood("start", required=False)
            except forms.ValidationError as exc:
                self.add_error("start_source", exc)
            if not data.get("strategy"):
                self.add_error("strategy", gettext("Choose how the playlist moves."))
            value = data.get("length_value")
            if value is None:
                self.add_error("length_value", gettext("Give the length."))
            elif data.get("length_kind") != "minutes" and value != int(value):
                self.add_error("length_value", gettext("The number of tracks is a whole number."))
        return data

    def schedule(self) -> Schedule:
        d = self.cleaned_data
        return Schedule(repeat=d["repeat"], due_date=d.get("due_date"), start_date=d.get("start_date"), days=d.get("days"))


def _target(mood: MoodInput | None) -> TargetMood | None:
    if mood is None:
        return None
    if mood.gems is not None:
        return TargetMood(gems=tuple(mood.gems))
    v, a = mood.va()
    return TargetMood(valence=v, arousal=a)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_new_view(request: HttpRequest, link_id: int) -> HttpResponse:
    link = _therapist_link(request, link_id)
    kind = request.POST.get("kind") or request.GET.get("kind") or "generated"
    if kind not in ("generated", "curated"):
        kind = "generated"
    today = timezone.localdate()
    form = AssignmentForm(
        request.POST or None,
        initial={"kind": kind, "strategy": "iso", "due_date": today + timedelta(days=7), "start_date": today, "days": 14, "repeat": "once"},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["kind"] == "curated":
                assignments.assignment_create_curated(
                    therapist=request.user,
                    client=link.client,
                    track_ids=data["track_ids"],
                    instructions=data.get("instructions") or "",
                    schedule=form.schedule(),
                    target=_target(data["target"]),
                )
            else:
                minutes = data["length_kind"] == "minutes"
                assignments.assignment_create_generated(
                    therapist=request.user,
                    client=link.client,
                    strategy=data["strategy"],
                    target=_target(data["target"]),
                    length_tracks=None if minutes else int(data["length_value"]),
                    length_minutes=float(data["length_value"]) if minutes else None,
                    instructions=data.get("instructions") or "",
                    schedule=form.schedule(),
                    seed_track_id=data.get("seed_track_id"),
                    start=_target(data["start"]),
                )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, gettext("Assigned to %(client)s.") % {"client": link.client.username})
            return redirect("therapy:therapist-client", link_id=link.pk)
    chosen = []
    if form.is_bound and kind == "curated":
        ids = form.cleaned_data.get("track_ids") if hasattr(form, "cleaned_data") else []
        by_id = {t.pk: t for t in Track.objects.filter(pk__in=ids or [])}
        chosen = [by_id[i] for i in ids or [] if i in by_id]
    return render(
        request,
        "therapy/assignments/new.html",
        {
            "link": link,
            "client": link.client,
            "kind": kind,
            "form": form,
            "chosen_tracks": chosen,
            "strategies": strategy_options(STRATEGIES),
            **_instrument_context(form, ("target", "start")),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def assignment_cancel_view(request: HttpRequest, assignment_id: int) -> HttpResponse:
    if not request.user.is_therapist:
        raise PermissionDenied(gettext("This page is for therapists."))
    assignment = assignment_get(therapist=request.user, assignment_id=assignment_id)
    if assignment is None:
        raise Http404(gettext("No such assignment."))
    try:
        assignments.assignment_cancel(therapist=request.user, assignment_id=assignment.pk)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, gettext("Assignment cancelled."))
    link = client_link_of(therapist=request.user, client=assignment.client)
    return redirect("therapy:therapist-client", link_id=link.pk) if link else redirect("therapy:therapist-clients")


@login_required
@require_GET
def track_search_view(request: HttpRequest) -> JsonResponse:
    if not request.user.is_therapist:
        return JsonResponse({"detail": gettext("Only therapists curate playlists.")}, status=403)
    q = request.GET.get("q", "")
    if len(q) > 200:
        return JsonResponse({"detail": gettext("The search is at most 200 characters.")}, status=400)
    tracks = tracks_search(query=q)
    return JsonResponse(
        {"results": [{"id": t.pk, "label": str(t), "genre": t.genre, "duration_s": t.duration_s} for t in tracks]}
    )


class AssignedStartForm(OneMoodForm):
    mood_prefix = "current"


@login_required
@require_http_methods(["GET", "POST"])
def assignment_start_view(request: HttpRequest, occurrence_id: int) -> HttpResponse:
    occurrence = occurrence_playable_for(client=request.user, occurrence_id=occurrence_id)
    if occurrence is None:
        raise Http404(gettext("Nothing assigned to you to play here."))
    form = AssignedStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            session = assignments.assigned_session_start(
                client=request.user, current=form.cleaned_data["current"], occurrence_id=occurrence.pk
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("listening:session-play", session_id=session.pk)
    return render(
        request,
        "therapy/assignments/start.html",
        {"occurrence": occurrence, "form": form, "n_tracks": occurrence.assignment.playlist.items.count(), **_instrument_context(form, ("current",))},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def client_outcomes_csv_view(request: HttpRequest, link_id: int) -> HttpResponse:
    link = _therapist_link(request, link_id)
    rows = client_outcomes(therapist=request.user, client=link.client)
    if rows is None:
        raise PermissionDenied(gettext("This client does not share their sessions with you."))
    body = "".join(csv_lines(CLIENT_OUTCOME_COLUMNS, (row.csv_row() for row in rows)))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="client-{link.client.participant_code}-outcomes.csv"'
    return response
