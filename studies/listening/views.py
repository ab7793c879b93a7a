"""Pages of studies.listening: start, player, end, history; the dashboard panel context.

Views parse the form into MoodInput values and call the services; nothing here decides."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import has_consent
from emotion.labels import fer_info, gems_info
from emotion.vocab import FER_INFO, GEMS, GEMS_INFO, N_GEMS
from recommender.explain import feeling_of, strategy_help, strategy_label
from recommender.selectors import listener_reasons, strategy_options
from studies.listening import conf, hooks, selectors
from studies.listening.models import SessionStatus
from studies.listening.mood import MoodError, MoodInput
from studies.listening.services.common import SessionClosed, SessionNotFound
from studies.listening.services.sessions import session_complete, session_start
from studies.plots import MoodPath, mood_path_plot

GEMS_CHOICES = [(g.name, g.label) for g in GEMS_INFO]


def _unit(name: str) -> forms.FloatField:
    return forms.FloatField(required=False, min_value=-1.0, max_value=1.0, label=name)


class MoodFields(forms.Form):
    """One mood given by GEMS buttons, the valence/arousal pad, or the webcam expression.

    `<prefix>_source` says which (the page's script sets it to the instrument used last);
    without it, chosen GEMS buttons win over the pad."""

    prefix_name = "current"

    def mood(self, prefix: str, *, required: bool = True, missing: str = "") -> MoodInput | None:
        """The mood given under `prefix`; `missing` is the message when none was given."""
        data = self.cleaned_data
        source = data.get(f"{prefix}_source") or ""
        gems = data.get(f"{prefix}_gems") or []
        v, a = data.get(f"{prefix}_valence"), data.get(f"{prefix}_arousal")
        fer = data.get(f"{prefix}_fer") or ""
        try:
            if source == "fer" and fer:
                return MoodInput(fer=fer)
            if gems and source in ("", "gems"):
                return MoodInput(gems=tuple(1.0 if name in gems else 0.0 for name in GEMS))
            if v is not None and a is not None:
                return MoodInput(valence=v, arousal=a)
            if gems:
                return MoodInput(gems=tuple(1.0 if name in gems else 0.0 for name in GEMS))
        except MoodError as exc:
            raise forms.ValidationError(str(exc)) from None
        if required:
            raise forms.ValidationError(missing or _("Tell us how you feel: choose feelings, or place a point on the pad."))
        return None


def _mood_fields(prefix: str) -> dict[str, forms.Field]:
    return {
        f"{prefix}_gems": forms.MultipleChoiceField(choices=GEMS_CHOICES, required=False),
        f"{prefix}_valence": _unit(gettext_lazy("valence")),
        f"{prefix}_arousal": _unit(gettext_lazy("arousal")),
        f"{prefix}_fer": forms.ChoiceField(choices=[("", "")] + [(e.name, e.label) for e in FER_INFO], required=False),
        f"{prefix}_source": forms.ChoiceField(choices=[("", ""), ("gems", "gems"), ("va", "va"), ("fer", "fer")], required=False),
    }


class SessionStartForm(MoodFields):
    desired_choice = forms.ChoiceField(
        choices=[("suggest", gettext_lazy("Let Attune suggest")), ("state", gettext_lazy("I know where I want to be"))],
        initial="suggest", label=gettext_lazy("Where you would like to be"),
    )
    length_kind = forms.ChoiceField(
        choices=[("tracks", gettext_lazy("tracks")), ("minutes", gettext_lazy("minutes"))], initial="tracks",
        label=gettext_lazy("Tracks or minutes"),
    )
    length_value = forms.FloatField(min_value=1, max_value=180, initial=5, label=gettext_lazy("Length"))
    strategy = forms.ChoiceField(required=False, choices=[], label=gettext_lazy("How the playlist moves"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for prefix in ("current", "desired"):
            self.fields.update(_mood_fields(prefix))
        self.fields["strategy"].choices = [("", _("Attune's default"))] + [(s, s) for s in conf.STRATEGIES]

    def clean(self):
        data = super().clean()
        try:
            data["current"] = self.mood("current")
        except forms.ValidationError as exc:
            self.add_error("current_source", exc)
        if data.get("desired_choice") == "state":
            try:
                data["desired"] = self.mood(
                    "desired",
                    missing=_(
                        "Say where you would like to be: choose feelings or place a point on the second pad, "
                        "or let Attune suggest a target."
                    ),
                )
            except forms.ValidationError as exc:
                self.add_error("desired_source", exc)
        else:
            data["desired"] = None
        value = data.get("length_value")
        if value is not None and data.get("length_kind") == "tracks":
            if value != int(value):
                self.add_error("length_value", _("The number of tracks is a whole number."))
        return data


class OneMoodForm(MoodFields):
    """A form with one mood instrument; subclasses name its prefix ("post", "current")."""

    mood_prefix = "current"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_mood_fields(self.mood_prefix))

    def clean(self):
        data = super().clean()
        try:
            data[self.mood_prefix] = self.mood(self.mood_prefix)
        except forms.ValidationError as exc:
            self.add_error(f"{self.mood_prefix}_source", exc)
        return data


class SessionFinishForm(OneMoodForm):
    mood_prefix = "post"
    reflection_rating = forms.TypedChoiceField(
        choices=[(str(i), str(i)) for i in range(1, 6)], coerce=int, required=False, empty_value=None, label=gettext_lazy("Rating")
    )
    reflection_text = forms.CharField(required=False, max_length=4000, widget=forms.Textarea, label=gettext_lazy("Reflection"))


def mood_values(form: forms.Form | None, prefixes: tuple[str, ...], prefill=None) -> dict[str, dict]:
    """What the person entered in each mood instrument, so a page shown again after an error
    keeps it (GEMS choices, the pad's point, the webcam reading), with that instrument's errors.
    Before anything is posted, `prefill` (query parameters of the same names, e.g. from the mood
    check's "start a session from this mood") sets the instruments instead."""
    bound = form is not None and form.is_bound
    data = form.data if bound else (prefill or {})
    errors = form.errors if bound else {}
    out = {}
    for prefix in prefixes:
        gems = data.getlist(f"{prefix}_gems") if hasattr(data, "getlist") else []
        messages_ = [m for key in ("source", "valence", "arousal", "gems", "fer") for m in errors.get(f"{prefix}_{key}", [])]
        out[prefix] = {
            "gems": [g for g in gems if g in GEMS],
            "valence": _number_or_blank(data.get(f"{prefix}_valence"), unit=not bound),
            "arousal": _number_or_blank(data.get(f"{prefix}_arousal"), unit=not bound),
            "source": data.get(f"{prefix}_source", "") if data.get(f"{prefix}_source") in ("gems", "va", "fer") else "",
            "fer": data.get(f"{prefix}_fer", "") if data.get(f"{prefix}_fer") in {e.name for e in FER_INFO} else "",
            "errors": messages_,
        }
    return out


MOOD_LEGENDS = {
    "current": gettext_lazy("How you feel now"),
    "desired": gettext_lazy("Where you would like to be"),
    "post": gettext_lazy("How you feel now"),
    "target": gettext_lazy("Target mood"),
    "start": gettext_lazy("Usual mood before listening"),
}
MOOD_PART_NAMES = {
    "source": gettext_lazy("source"),
    "valence": gettext_lazy("valence"),
    "arousal": gettext_lazy("arousal"),
    "gems": gettext_lazy("feelings"),
    "fer": gettext_lazy("expression"),
}
MOOD_PARTS = {"source", "valence", "arousal", "gems", "fer"}


def error_summary(form: forms.Form) -> list[str]:
    """Every error of a bound form as one readable sentence each, for the summary at the top
    of the page (the same messages also appear beside their field or mood instrument)."""
    if not form.is_bound:
        return []
    out: list[str] = []
    for field, errors in form.errors.items():
        prefix, _sep, part = field.rpartition("_")
        if field == "__all__" or (part == "source" and prefix in MOOD_LEGENDS):
            out.extend(errors)
            continue
        if part in MOOD_PARTS and prefix in MOOD_LEGENDS:
            label = f"{MOOD_LEGENDS[prefix]} ({MOOD_PART_NAMES[part]})"
        else:
            label = str(form.fields[field].label or field.replace("_", " ")).capitalize()
        out.extend(f"{label}: {e}" for e in errors)
    return out


def _number_or_blank(value, *, unit: bool = False) -> str:
    """A number as the person typed it (kept even out of range, beside its error), or only a
    number in [-1, 1] when `unit` (a prefill nobody has checked yet)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    limit = 1.0 if unit else 1e6
    return f"{number:g}" if -limit <= number <= limit else ""


def _instrument_context(form: forms.Form | None = None, prefixes: tuple[str, ...] = (), prefill=None) -> dict:
    return {
        "mood_values": mood_values(form, prefixes, prefill),
        "error_summary": error_summary(form) if form is not None else [],
        "gems": gems_info(),
        "expressions": fer_info(),
        "n_gems": N_GEMS,
        "pad_config": {
            "gems": [{"name": g.name, "label": g.label, "emoji": g.emoji, "valence": g.valence, "arousal": g.arousal} for g in gems_info()],
            "expressions": [{"name": e.name, "label": e.label, "emoji": e.emoji, "valence": e.valence, "arousal": e.arousal} for e in fer_info()],
        },
    }


def _webcam_config(request, *, trace_ref: str | None) -> dict:
    return {
        "cameraAllowed": has_consent(request.user, "webcam_inference"),
        "traceAllowed": has_consent(request.user, "emotion_trace"),
        "wsPath": "/ws/emotion/",
        "traceRef": trace_ref,
        "fps": 2,
        "width": 320,
        "height": 240,
        "consentUrl": reverse("consent"),
        "expressions": [{"name": e.name, "label": e.label} for e in fer_info()],
    }


def _apply_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(None, f"{field.replace('_', ' ')}: {message}" if field != "__all__" else message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
@require_http_methods(["GET", "POST"])
def session_new_view(request: HttpRequest) -> HttpResponse:
    experiment_decides = hooks.choose_strategy(user=request.user, mode=request.user.mode) is not None
    form = SessionStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        tracks = int(data["length_value"]) if data["length_kind"] == "tracks" else None
        minutes = float(data["length_value"]) if data["length_kind"] == "minutes" else None
        try:
            session = session_start(
                user=request.user,
                current=data["current"],
                desired=data["desired"],
                length_tracks=tracks,
                length_minutes=minutes,
                strategy=None if experiment_decides else (data.get("strategy") or None),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("listening:session-play", session_id=session.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "listening/session_new.html",
        {
            "form": form,
            "experiment_decides": experiment_decides,
            "strategies": strategy_options(conf.STRATEGIES),
            "webcam": _webcam_config(request, trace_ref=None),
            **_instrument_context(form, ("current", "desired"), prefill=request.GET),
            "from_mood_check": not form.is_bound and request.GET.get("current_source") in ("gems", "va", "fer"),
        },
        status=status,
    )


def _own_or_404(request, session_id):
    session = selectors.session_get(viewer=request.user, session_id=session_id)
    if session is None:
        raise Http404(_("No such session."))
    return session


@login_required
@require_GET
def session_play_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_or_404(request, session_id)
    if session.status != SessionStatus.ACTIVE:
        return redirect("listening:session-history")
    queue = list(selectors.session_queue(session=session))
    start_va = (session.pre_valence, session.pre_arousal)
    target_va = (session.target_valence, session.target_arousal)
    whys = listener_reasons(
        strategy=session.strategy,
        start_va=start_va,
        target_va=target_va,
        steps=[(q.track_id, None if q.waypoint_valence is None else (q.waypoint_valence, q.waypoint_arousal)) for q in queue],
    )
    player = {
        "sessionId": session.pk,
        "eventsUrl": reverse("api-listening-session-events", args=[session.pk]),
        "finishUrl": reverse("listening:session-finish", args=[session.pk]),
        "queue": [
            {
                "position": q.position,
                "track_id": q.track_id,
                "title": q.track.title,
                "artist": q.track.artist,
                "duration_s": q.track.duration_s,
                "audio_url": q.track.audio_url if q.track.audio_file else "",
                "preview_url": q.track.preview_url,
                "reason": why,
            }
            for q, why in zip(queue, whys, strict=True)
        ],
        "played": sorted(set(session.events.filter(kind__in=("skipped", "completed")).values_list("position", flat=True))),
        "gems": [{"name": g.name, "label": g.label, "emoji": g.emoji} for g in gems_info()],
        "csrfToken": get_token(request),
    }
    return render(
        request,
        "listening/session_play.html",
        {
            "session": session,
            "queue": queue,
            "player": player,
            "strategy_label": strategy_label(session.strategy),
            "strategy_help": strategy_help(session.strategy),
            "start_feeling": feeling_of(start_va),
            "target_feeling": feeling_of(target_va),
            "webcam": _webcam_config(request, trace_ref=session.trace_ref),
            "gems": gems_info(),
            "expressions": fer_info(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_finish_view(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_or_404(request, session_id)
    if session.status != SessionStatus.ACTIVE:
        messages.info(request, _("This session is already finished."))
        return redirect("listening:session-history")
    form = SessionFinishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session_complete(
                user=request.user,
                session_id=session.pk,
                post=data["post"],
                reflection_rating=data.get("reflection_rating"),
                reflection_text=data.get("reflection_text") or "",
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        except SessionNotFound:
            raise Http404(_("No such session.")) from None
        except SessionClosed:
            return redirect("listening:session-history")
        else:
            messages.success(request, _("Thank you. Your session is saved."))
            return redirect("listening:session-history")
    return render(
        request,
        "listening/session_finish.html",
        {"session": session, "form": form, **_instrument_context(form, ("post",))},
        status=400 if request.method == "POST" else 200,
    )


def _mood_picture(summary: selectors.SessionSummary) -> str:
    """The session's mood path (pre, webcam trace, post, target) as inline SVG, cached per state."""

    s = summary.session
    key = f"listening:moodpath:{get_language()}:{s.pk}:{s.status}:{len(summary.trace_va)}:{s.post_valence}"
    svg = cache.get(key)
    if svg is None:
        trace = summary.trace_va if len(summary.trace_va) else None
        if trace is not None and len(trace) > 300:  # keep the picture light: about 300 points
            trace = trace[:: int(len(trace) / 300) + 1]
        path = MoodPath(
            label=_("Session %(when)s") % {"when": date_format(localtime(s.created_at), "j M H:i")},
            pre=(s.pre_valence, s.pre_arousal),
            post=(s.post_valence, s.post_arousal) if s.post_valence is not None else None,
            trace=trace,
            target=(s.target_valence, s.target_arousal),
        )
        svg = mood_path_plot(
            [path], title=_("Mood path, %(when)s") % {"when": date_format(localtime(s.created_at), "j M Y H:i")}, translate=_
        )
        cache.set(key, svg, 3600)
    return svg


@login_required
@require_GET
def session_history_view(request: HttpRequest) -> HttpResponse:
    summaries = selectors.session_history(viewer=request.user, limit=12)
    rows = [{"summary": s, "svg": _mood_picture(s)} for s in summaries]
    return render(request, "listening/session_history.html", {"rows": rows})


def dashboard_context(request) -> dict:
    return {"sessions": selectors.session_history(viewer=request.user, limit=5)}
