"""Playlists a therapist assigns to a client (issue 7): the writes.

Only a therapist with an ACTIVE link to the client (therapy.selectors.is_linked) may assign or
cancel. Each scheduled listening is an AssignmentOccurrence; its status moves pending ->
started (assigned_session_start began a therapy-mode session on it) -> done (that session was
completed: occurrence_complete, which studies.listening calls through its session-completed
hook), and a periodic task marks occurrences whose due date has passed without a start as
missed. The recommender builds the playlists; studies.listening plays them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from emotion.vocab import N_GEMS, gems_distribution, gems_to_va, va_to_gems
from recommender import conf
from recommender.engine.types import State
from recommender.models import Playlist, PlaylistItem, Track
from recommender.services.playlists import playlist_create
from studies.listening.models import ListeningSession, SessionMode
from studies.listening.mood import MoodInput
from studies.listening.services.sessions import session_start_on_playlist
from therapy.models import (
    Assignment,
    AssignmentKind,
    AssignmentOccurrence,
    AssignmentRepeat,
    AssignmentStatus,
    OccurrenceStatus,
)
from therapy.selectors import is_linked, occurrence_playable_for

CURATED_REASON = "chosen by your therapist"
CURATED_STRATEGY = "curated"
MAX_SCHEDULE_DAYS = 366
MAX_INSTRUCTIONS = 2000


@dataclass(frozen=True)
class Schedule:
    """Once by `due_date`, or repeating daily/weekly from `start_date` for `days` days."""

    repeat: str = AssignmentRepeat.ONCE
    due_date: date | None = None
    start_date: date | None = None
    days: int | None = None


@dataclass(frozen=True)
class TargetMood:
    """The goal: valence/arousal in [-1, 1], or a GEMS distribution of 9 numbers."""

    valence: float | None = None
    arousal: float | None = None
    gems: tuple[float, ...] | None = None

    def resolved(self) -> tuple[float, float, list[float] | None]:
        if self.gems is not None:
            try:
                dist = gems_distribution(list(self.gems))
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValidationError({"target": _("Invalid GEMS target: %(problem)s") % {"problem": exc}}) from None
            if dist.shape != (N_GEMS,):
                raise ValidationError({"target": _("A GEMS target has %(count)d numbers.") % {"count": N_GEMS}})
            va = gems_to_va(dist)
            return float(va[0]), float(va[1]), [float(x) for x in dist]
        try:
            v, a = float(self.valence), float(self.arousal)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise ValidationError({"target": _("Give the target mood as valence and arousal numbers or as GEMS emotions.")}) from None
        if not (math.isfinite(v) and math.isfinite(a)) or abs(v) > 1 or abs(a) > 1:
            raise ValidationError({"target": _("Target valence and arousal lie between -1 and 1.")})
        return v, a, None


# --- helpers ---------------------------------------------------------------------------------


def _require_link(*, therapist, client) -> None:
    if not (getattr(therapist, "is_authenticated", False) and therapist.is_therapist):
        raise PermissionDenied(_("Only therapists assign playlists."))
    if not is_linked(therapist=therapist, client=client):
        raise PermissionDenied(_("You can only assign playlists to your own clients (an active link)."))


def schedule_dates(schedule: Schedule, *, today: date) -> list[tuple[date, date]]:
    """(available_from, due_date) of every occurrence; ValidationError on a bad schedule."""
    if schedule.repeat == AssignmentRepeat.ONCE:
        if schedule.due_date is None:
            raise ValidationError({"due_date": _("Give the date by which to listen.")})
        if schedule.due_date < today:
            raise ValidationError({"due_date": _("The due date is in the past.")})
        if schedule.due_date > today + timedelta(days=MAX_SCHEDULE_DAYS):
            raise ValidationError({"due_date": _("The due date is at most %(days)d days ahead.") % {"days": MAX_SCHEDULE_DAYS}})
        return [(today, schedule.due_date)]
    if schedule.repeat not in (AssignmentRepeat.DAILY, AssignmentRepeat.WEEKLY):
        raise ValidationError({"repeat": _("Choose once, daily or weekly.")})
    if schedule.start_date is None:
        raise ValidationError({"start_date": _("Give the first day.")})
    if schedule.start_date < today:
        raise ValidationError({"start_date": _("The first day is in the past.")})
    if schedule.start_date > today + timedelta(days=MAX_SCHEDULE_DAYS):
        raise ValidationError({"start_date": _("The first day is at most %(days)d days ahead.") % {"days": MAX_SCHEDULE_DAYS}})
    if schedule.days is None or isinstance(schedule.days, bool) or not 1 <= int(schedule.days) <= MAX_SCHEDULE_DAYS:
        raise ValidationError({"days": _("Repeat for 1 to %(days)d days.") % {"days": MAX_SCHEDULE_DAYS}})
    days = int(schedule.days)
    if schedule.repeat == AssignmentRepeat.DAILY:
        return [(schedule.start_date + timedelta(days=i),) * 2 for i in range(days)]
    # Weekly: one listening per week, playable any day of that week.
    out = []
    for offset in range(0, days, 7):
        first = schedule.start_date + timedelta(days=offset)
        last = min(first + timedelta(days=6), schedule.start_date + timedelta(days=days - 1))
        out.append((first, last))
    return out


def _clean_instructions(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_INSTRUCTIONS:
        raise ValidationError({"instructions": _("Instructions are at most %(count)d characters.") % {"count": MAX_INSTRUCTIONS}})
    return text


def _save_assignment(*, assignment: Assignment, dates: list[tuple[date, date]]) -> Assignment:
    assignment.start_date = dates[0][0]
    assignment.end_date = dates[-1][1]
    assignment.full_clean()
    assignment.save()
    AssignmentOccurrence.objects.bulk_create(
        [AssignmentOccurrence(assignment=assignment, available_from=a, due_date=d) for a, d in dates]
    )
    return assignment


# --- services --------------------------------------------------------------------------------


def assignment_create_generated(
    *,
    therapist,
    client,
    strategy: str,
    target: TargetMood | None,
    length_tracks: int | None,
    length_minutes: float | None,
    instructions: str,
    schedule: Schedule,
    start: TargetMood | None = None,
    seed_track_id: int | None = None,
    seed: int = 0,
    title: str = "",
) -> Assignment:
    """A playlist generated by the engine for the CLIENT (their profile's constraints apply),
    aimed at `target` from `start` (the client's usual mood before listening; neutral if not
    given), assigned with instructions and a schedule. All or nothing."""
    _require_link(therapist=therapist, client=client)
    instructions = _clean_instructions(instructions)
    dates = schedule_dates(schedule, today=timezone.localdate())
    tv = ta = tg = None
    target_state = None
    if target is not None:
        tv, ta, tg = target.resolved()
        target_state = State.from_gems(tg) if tg is not None else State.from_va(tv, ta)
    elif strategy != "mapping":
        raise ValidationError({"target": _("Give the target mood (only the mapping strategy picks its own).")})
    if start is None:
        start_state = State.from_va(0.0, 0.0)
    else:
        sv, sa, sg = start.resolved()
        start_state = State.from_gems(sg) if sg is not None else State.from_va(sv, sa)
    with transaction.atomic():
        playlist = playlist_create(
            owner=client,
            strategy=strategy,
            start=start_state,
            target=target_state,
            n_tracks=length_tracks,
            minutes=length_minutes,
            seed=seed,
            seed_track_id=seed_track_id,
            title=title or "Assigned by your therapist",
        )
        if target_state is None and playlist.target_va:
            tv, ta = playlist.target_va
            tg = playlist.target_gems
        assignment = Assignment(
            therapist=therapist,
            client=client,
            playlist=playlist,
            kind=AssignmentKind.GENERATED,
            strategy=strategy,
            target_valence=tv,
            target_arousal=ta,
            target_gems=tg,
            length_tracks=length_tracks,
            length_minutes=length_minutes,
            instructions=instructions,
            repeat=schedule.repeat,
        )
        return _save_assignment(assignment=assignment, dates=dates)


def assignment_create_curated(
    *,
    therapist,
    client,
    track_ids: Sequence[int],
    instructions: str,
    schedule: Schedule,
    target: TargetMood | None = None,
    title: str = "",
) -> Assignment:
    """A hand-picked playlist (tracks in the given order, no waypoints, reason "chosen by your
    therapist") assigned to the client. Duplicates and unknown tracks are refused."""
    _require_link(therapist=therapist, client=client)
    instructions = _clean_instructions(instructions)
    dates = schedule_dates(schedule, today=timezone.localdate())
    try:
        ids = [int(t) for t in track_ids]
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({"track_ids": _("Track ids are whole numbers.")}) from None
    if not ids:
        raise ValidationError({"track_ids": _("Add at least one track.")})
    if len(ids) > conf.MAX_PLAYLIST_TRACKS:
        raise ValidationError({"track_ids": _("A playlist has at most %(count)d tracks.") % {"count": conf.MAX_PLAYLIST_TRACKS}})
    if len(set(ids)) != len(ids):
        raise ValidationError({"track_ids": _("A track is in the list twice.")})
    found = set(Track.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({"track_ids": _("No track with id %(id)s in the catalog.") % {"id": missing[0]}})
    tv = ta = tg = None
    if target is not None:
        tv, ta, tg = target.resolved()
    neutral = [float(x) for x in va_to_gems([0.0, 0.0])]
    target_gems = tg if tg is not None else (None if tv is None else [float(x) for x in va_to_gems([tv, ta])])
    if target_gems is not None:
        total = sum(target_gems)
        target_gems = [x / total for x in target_gems]
    total = sum(neutral)
    neutral = [x / total for x in neutral]
    with transaction.atomic():
        playlist = Playlist(
            owner=client,
            title=(title or "Chosen by your therapist").strip()[:200],
            strategy=CURATED_STRATEGY,
            start_gems=neutral,
            start_va=[0.0, 0.0],
            target_gems=target_gems,
            target_va=None if tv is None else [tv, ta],
            requested_tracks=len(ids),
            notes=["Tracks chosen by hand by your therapist."],
        )
        playlist.full_clean()
        playlist.save()
        PlaylistItem.objects.bulk_create(
            [PlaylistItem(playlist=playlist, position=i, track_id=t, reason=CURATED_REASON) for i, t in enumerate(ids, 1)]
        )
        assignment = Assignment(
            therapist=therapist,
            client=client,
            playlist=playlist,
            kind=AssignmentKind.CURATED,
            target_valence=tv,
            target_arousal=ta,
            target_gems=tg,
            length_tracks=len(ids),
            instructions=instructions,
            repeat=schedule.repeat,
        )
        return _save_assignment(assignment=assignment, dates=dates)


def assignment_cancel(*, therapist, assignment_id: int) -> Assignment:
    """Cancel an assignment and its not-yet-played occurrences (played ones keep their status)."""
    with transaction.atomic():
        assignment = Assignment.objects.select_for_update().filter(pk=assignment_id, therapist=therapist).first()
        if assignment is None:
            raise PermissionDenied(_("No such assignment of yours."))
        _require_link(therapist=therapist, client=assignment.client)
        if assignment.status == AssignmentStatus.CANCELLED:
            raise ValidationError(_("This assignment is already cancelled."))
        if assignment.status in (AssignmentStatus.DONE, AssignmentStatus.MISSED):
            raise ValidationError(_("This assignment is finished; there is nothing left to cancel."))
        assignment.occurrences.filter(status=OccurrenceStatus.PENDING).update(status=OccurrenceStatus.CANCELLED)
        assignment.status = AssignmentStatus.CANCELLED
        assignment.cancelled_at = timezone.now()
        assignment.save(update_fields=["status", "cancelled_at"])
    return assignment


def assignment_refresh_status(assignment: Assignment) -> str:
    """Summarise the occurrences: started while any is started or some but not all are
    finished; done when all are finished and at least one was done; missed when none was."""
    if assignment.status == AssignmentStatus.CANCELLED:
        return assignment.status
    statuses = list(assignment.occurrences.values_list("status", flat=True))
    finished = [s for s in statuses if s in (OccurrenceStatus.DONE, OccurrenceStatus.MISSED)]
    if statuses and len(finished) == len(statuses):
        status = AssignmentStatus.DONE if OccurrenceStatus.DONE in finished else AssignmentStatus.MISSED
    elif OccurrenceStatus.STARTED in statuses or OccurrenceStatus.DONE in statuses:
        status = AssignmentStatus.STARTED
    else:
        status = AssignmentStatus.PENDING
    if status != assignment.status:
        assignment.status = status
        assignment.save(update_fields=["status"])
    return status


def assigned_session_start(*, client, current: MoodInput, occurrence_id) -> ListeningSession:
    """The client starts a therapy-mode listening session on an assigned playlist: the
    assignment's target (else the mapping target for the current mood), the occurrence marked
    started, in one transaction. Refused unless the occurrence is theirs, from an active link,
    playable today and still pending. Experiments never claim such sessions."""
    if client is None or not getattr(client, "is_authenticated", False):
        raise ValidationError(_("Log in to start a listening session."))
    try:
        occurrence_pk = int(occurrence_id)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({"assignment": _("No such assignment.")}) from None
    with transaction.atomic():
        occurrence = occurrence_playable_for(client=client, occurrence_id=occurrence_pk, lock=True)
        if occurrence is None:
            raise ValidationError({"assignment": _("This assignment is not yours to play now, or it was already played.")})
        assignment = occurrence.assignment
        target = None
        if assignment.has_target:
            target = MoodInput(valence=assignment.target_valence, arousal=assignment.target_arousal)
        session = session_start_on_playlist(
            user=client,
            current=current,
            playlist=assignment.playlist,
            target=target,
            target_gems=assignment.target_gems,
            strategy=assignment.strategy or assignment.playlist.strategy,
        )
        occurrence_start(client=client, occurrence_id=occurrence.pk, session_id=session.pk)
    return session


def occurrence_start(*, client, occurrence_id: int, session_id: int) -> AssignmentOccurrence:
    """The client began session `session_id` on this occurrence (assigned_session_start, in its
    transaction). Refused unless it is theirs, from an active link, playable today and still
    pending."""
    occurrence = occurrence_playable_for(client=client, occurrence_id=occurrence_id, lock=True)
    if occurrence is None:
        raise ValidationError({"assignment": _("This assignment is not yours to play now, or it was already played.")})
    occurrence.status = OccurrenceStatus.STARTED
    occurrence.session_id = int(session_id)
    occurrence.started_at = timezone.now()
    occurrence.save(update_fields=["status", "session_id", "started_at"])
    assignment_refresh_status(occurrence.assignment)
    return occurrence


def session_completed(session: ListeningSession) -> AssignmentOccurrence | None:
    """studies.listening's session-completed hook (inside session_complete's transaction): a
    completed therapy-mode session finishes the occurrence it played, if any."""
    if session.mode != SessionMode.THERAPY:
        return None
    return occurrence_complete(session_id=session.pk)


def occurrence_complete(*, session_id: int) -> AssignmentOccurrence | None:
    """The occurrence played in this session is done."""
    occurrence = (
        AssignmentOccurrence.objects.select_for_update()
        .select_related("assignment")
        .filter(session_id=session_id, status=OccurrenceStatus.STARTED)
        .first()
    )
    if occurrence is None:
        return None
    occurrence.status = OccurrenceStatus.DONE
    occurrence.completed_at = timezone.now()
    occurrence.save(update_fields=["status", "completed_at"])
    assignment_refresh_status(occurrence.assignment)
    return occurrence


def occurrences_mark_missed(*, today: date | None = None) -> int:
    """Pending occurrences whose due date has passed become missed (run daily by Celery beat)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        overdue = AssignmentOccurrence.objects.filter(status=OccurrenceStatus.PENDING, due_date__lt=today)
        assignment_ids = set(overdue.values_list("assignment_id", flat=True))
        count = overdue.update(status=OccurrenceStatus.MISSED)
        for assignment in Assignment.objects.filter(pk__in=assignment_ids):
            assignment_refresh_status(assignment)
    return count
