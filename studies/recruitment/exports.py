"""Exports researchers can load without guessing: long-format CSV, a codebook (CSV + JSON with
an R snippet), a labelled SPSS .sav, and the recruitment entry log for payment reconciliation.

Long format: one row per measure — `participant_code, unit, unit_id, variant, phase, variable,
value, recorded_at` — where `variable` is a codebook variable (e.g. `stai6_calm`,
`stai6_total`, `session_valence_change`, `gems_wonder`). People are keyed only by participant
code, and only people whose `research_data` consent is on are exported. Rows are produced by
database iterators and written line by line (StreamingHttpResponse): memory does not grow
with the study (tests/recruitment/test_exports.py streams 100,000 rows under tracemalloc).

The .sav is wide — one row per participant and unit (listening session, or the participant
when there is none; one row per rating for surveys) with a column `<variable>_<phase>` per
phased measure — because SPSS value labels belong to a column. It is built in memory from that
wide table (one row per session, not per measure) with pyreadstat, carrying the codebook's
variable labels and value labels. Missing values: empty in the CSV, system-missing in SPSS.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify

from emotion.vocab import GEMS
from recommender.csv_export import csv_lines
from studies import instruments
from studies.experiments.models import Experiment
from studies.experiments.selectors import analysable_exposures
from studies.listening.selectors import session_outcomes
from studies.recruitment import conf
from studies.recruitment.models import EntryLog, InstrumentResponse, RecruitmentLink
from studies.surveys.models import Survey
from studies.surveys.selectors import counting_ratings

LONG_COLUMNS = ("participant_code", "unit", "unit_id", "variant", "phase", "variable", "value", "recorded_at")
CODEBOOK_COLUMNS = ("variable", "label", "type", "unit", "allowed_values", "value_labels", "instrument", "item",
                    "phases", "direction", "missing", "sav_columns")
ENTRY_COLUMNS = ("participant_code", "external_id_hash", "service_study_id", "event", "code", "detail", "at")
CHUNK = 1000  # database rows per fetch: the export's memory is about one chunk
MISSING = "empty cell in the CSV; system-missing in the .sav"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str  # integer | float | boolean | string
    unit: str = ""
    low: float | None = None
    high: float | None = None
    value_labels: dict[int, str] = field(default_factory=dict)
    instrument: str = ""
    item: str = ""
    phases: tuple[str, ...] = ()
    direction: str = ""

    @property
    def sav_columns(self) -> tuple[str, ...]:
        return tuple(f"{self.name}_{p}" for p in self.phases) if self.phases else (self.name,)

    def codebook_row(self) -> tuple:
        allowed = f"{self.low:g}–{self.high:g}" if self.low is not None and self.high is not None else ""
        if self.type == "boolean":
            allowed = "0, 1"
        labels = "; ".join(f"{k} = {v}" for k, v in self.value_labels.items())
        return (self.name, self.label, self.type, self.unit, allowed, labels, self.instrument, self.item,
                " ".join(self.phases), self.direction, MISSING, " ".join(self.sav_columns))


SESSION_VARIABLES: tuple[Variable, ...] = (
    Variable("session_completed", "Session completed", "boolean", value_labels={0: "no", 1: "yes"}),
    Variable("session_tracks_played", "Tracks played in the session", "integer", "tracks", 0, None),
    Variable("session_skip_rate", "Share of played tracks skipped", "float", "proportion", 0, 1),
    Variable("session_pre_valence", "Valence before the session (self-report)", "float", "circumplex units", -1, 1),
    Variable("session_pre_arousal", "Arousal before the session (self-report)", "float", "circumplex units", -1, 1),
    Variable("session_shift_toward_target", "Reduction of the valence/arousal distance to the target", "float",
             "circumplex units", -2.83, 2.83, direction="higher_is_better"),
    Variable("session_valence_change", "Valence change (post − pre)", "float", "circumplex units", -2, 2,
             direction="higher_is_better"),
    Variable("session_reflection_rating", "Reflection rating", "integer", "points", 1, 5,
             direction="higher_is_better"),
)


def instrument_variables(key: str) -> list[Variable]:
    inst = conf.instrument(key)
    phases = ("pre", "post")
    out = []
    labels = dict(inst.response_labels)
    for it in inst.items:
        label = f"{inst.key.upper()} {it.key}: {it.text}" + (" (reverse-scored in the total)" if it.reverse else "")
        out.append(Variable(f"{inst.key}_{it.key}", label[:250], "integer" if inst.integer else "float",
                            "mm" if inst.widget == "vas" else "points", inst.response_min, inst.response_max,
                            labels if inst.integer else {}, inst.key, it.key, phases))
    for s in inst.scales:
        if s.method == "value" and s.key in inst.item_keys and s.multiplier == 1:
            continue  # the item itself is the score
        out.append(Variable(f"{inst.key}_{s.key}", s.label, "float", s.unit, s.low, s.high, {}, inst.key,
                            f"score:{s.key}", phases, str(s.direction)))
    return out


def _score_variable_name(inst: instruments.Instrument, scale_key: str) -> str | None:
    s = inst.scale(scale_key)
    if s.method == "value" and s.key in inst.item_keys and s.multiplier == 1:
        return None
    return f"{inst.key}_{s.key}"


# ---------------------------------------------------------------------------------------------
# which study


@dataclass(frozen=True)
class Study:
    kind: str  # experiment | survey
    obj: Any

    @property
    def name(self) -> str:
        return getattr(self.obj, "name", None) or getattr(self.obj, "title", "") or f"{self.kind}-{self.obj.pk}"

    @property
    def file_stem(self) -> str:
        return f"{slugify(self.name) or self.kind}-{self.kind}-{self.obj.pk}"


def study_get(*, viewer: Any, kind: str, study_id: int) -> Study:
    """The experiment or survey, for a researcher only."""
    if not (viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_staff):
        raise PermissionDenied("Only researchers may export study data.")
    if kind == "experiment":

        if not viewer.has_perm("experiments.view_experiment"):
            raise PermissionDenied("Only researchers may export experiment data.")
        obj = Experiment.objects.prefetch_related("variants").filter(pk=study_id).first()
    elif kind == "survey":

        if not viewer.has_perm("surveys.view_survey"):
            raise PermissionDenied("Only researchers may export survey data.")
        obj = Survey.objects.filter(pk=study_id).first()
    else:
        raise Http404("Unknown kind of study.")
    if obj is None:
        raise Http404(f"No such {kind}.")
    return Study(kind, obj)


def _consenting(qs, user_field: str = "user"):
    return qs.filter(**{f"{user_field}__consents__purpose": "research_data", f"{user_field}__consents__granted": True})


def _exposures(study: Study):

    return analysable_exposures(experiment=study.obj)


def _responses(study: Study):
    if study.kind == "experiment":
        sessions = _exposures(study).values("session_id")
        qs = InstrumentResponse.objects.filter(Q(session_id__in=sessions) | Q(enrollment__link__experiment=study.obj))
    else:
        qs = InstrumentResponse.objects.filter(enrollment__link__survey=study.obj)
    return _consenting(qs).distinct()


def _instrument_keys(study: Study) -> list[str]:
    keys: list[str] = []
    field_name = "experiment" if study.kind == "experiment" else "survey"
    for link in RecruitmentLink.objects.filter(**{field_name: study.obj}).order_by("id"):
        for k in [*link.pre_instruments, *link.post_instruments]:
            if k not in keys:
                keys.append(k)
    for k in _responses(study).order_by().values_list("instrument", flat=True).distinct():
        if k not in keys:
            keys.append(k)
    return keys


def study_variables(study: Study) -> list[Variable]:
    out: list[Variable] = []
    if study.kind == "experiment":
        out.extend(SESSION_VARIABLES)
    else:
        scale = (0, 4) if study.obj.response_format == "intensity" else (0, 1)
        for g in GEMS:
            out.append(Variable(f"gems_{g}", f"GEMS {g.replace('_', ' ')} ({study.obj.get_response_format_display()})",
                                "integer", "points", *scale, instrument="gems9_survey", item=g))
        out.append(Variable("liking", "Liking of the track", "integer", "points", 1, 5))
        out.append(Variable("familiarity", "Familiarity with the track", "integer", "points", 1, 5))
        out.append(Variable("listened_seconds", "Seconds listened before answering", "float", "s", 0, None))
    for key in _instrument_keys(study):
        out.extend(instrument_variables(key))
    return out


def has_data(study: Study) -> bool:
    if _responses(study).exists():
        return True
    if study.kind == "experiment":
        return _exposures(study).exists()

    return _consenting(counting_ratings().filter(survey=study.obj)).exists()


# ---------------------------------------------------------------------------------------------
# long rows


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _response_rows(study: Study) -> Iterator[tuple]:
    from django.db.models import OuterRef, Subquery

    qs = _responses(study)
    if study.kind == "experiment":
        variant = _exposures(study).filter(session_id=OuterRef("session_id")).values("variant__name")[:1]
        qs = qs.annotate(variant_name=Subquery(variant))
    rows = (qs.order_by("participant_code", "created_at", "id")
            .values_list("participant_code", "session_id", "instrument", "phase", "answers", "scores", "created_at",
                         *(("variant_name",) if study.kind == "experiment" else ())))
    for code, session_id, key, phase, answers, scores, at, *variant_name in rows.iterator(chunk_size=CHUNK):
        inst = instruments.INSTRUMENTS.get(key)
        if inst is None:
            continue
        unit, unit_id = ("session", session_id) if session_id else ("participant", "")
        variant = (variant_name[0] or "") if variant_name and session_id else ""
        stamp = at.isoformat()
        for item in inst.item_keys:
            yield (code, unit, unit_id, variant, phase, f"{key}_{item}", _fmt(answers.get(item)), stamp)
        for s in inst.scales:
            name = _score_variable_name(inst, s.key)
            if name is not None:
                yield (code, unit, unit_id, variant, phase, name, _fmt(scores.get(s.key)), stamp)


def _session_rows(study: Study) -> Iterator[tuple]:
    """Session measures, a chunk of exposures at a time (session_outcomes per chunk)."""

    rows = (_exposures(study).order_by("session_id")
            .values_list("session_id", "participant_code", "variant__name", "created_at"))
    chunk: dict[int, tuple[str, str, Any]] = {}

    def flush() -> Iterator[tuple]:
        for o in sorted(session_outcomes(session_ids=list(chunk)), key=lambda o: o.session_id):
            code, variant, at = chunk[o.session_id]
            values = (o.completed, o.tracks_played, o.skip_rate, o.pre_valence, o.pre_arousal, o.shift_toward_target,
                      o.valence_change, o.reflection_rating)
            for var, value in zip(SESSION_VARIABLES, values, strict=True):
                yield (code, "session", o.session_id, variant, "", var.name, _fmt(value), at.isoformat())
        chunk.clear()

    for sid, code, variant, at in rows.iterator(chunk_size=CHUNK):
        chunk[sid] = (code, variant, at)
        if len(chunk) >= CHUNK:
            yield from flush()
    if chunk:
        yield from flush()


def _rating_rows(study: Study) -> Iterator[tuple]:

    qs = (_consenting(counting_ratings().filter(survey=study.obj)).order_by("created_at", "id")
          .values_list("user__participant_code", "track_id", "answer", "liking", "familiarity", "listened_seconds",
                       "created_at"))
    for code, track_id, answer, liking, familiarity, listened, at in qs.iterator(chunk_size=CHUNK):
        stamp = at.isoformat()
        for g, v in zip(GEMS, answer, strict=True):
            yield (code, "track", track_id, "", "", f"gems_{g}", v, stamp)
        yield (code, "track", track_id, "", "", "liking", _fmt(liking), stamp)
        yield (code, "track", track_id, "", "", "familiarity", _fmt(familiarity), stamp)
        yield (code, "track", track_id, "", "", "listened_seconds", _fmt(listened), stamp)


def long_rows(study: Study) -> Iterator[tuple]:
    """Every measure of the study, one row each (LONG_COLUMNS)."""
    if study.kind == "experiment":
        yield from _session_rows(study)
    else:
        yield from _rating_rows(study)
    yield from _response_rows(study)


def long_csv_lines(study: Study) -> Iterator[str]:
    return csv_lines(LONG_COLUMNS, long_rows(study))


# ---------------------------------------------------------------------------------------------
# codebook


def r_snippet(study: Study) -> str:
    stem = study.file_stem
    return (f'long <- read.csv("{stem}-long.csv", na.strings = "", stringsAsFactors = FALSE)\n'
            f'codebook <- read.csv("{stem}-codebook.csv", na.strings = "", stringsAsFactors = FALSE)\n'
            "# one column per variable and phase, one row per participant and unit:\n"
            "wide <- tidyr::pivot_wider(long, id_cols = c(participant_code, unit, unit_id, variant),\n"
            "                           names_from = c(variable, phase), names_sep = \"_\", values_from = value)\n"
            "# or the labelled SPSS file: haven::read_sav(\"" + stem + ".sav\")\n")


def codebook_document(study: Study) -> dict[str, Any]:
    variables = study_variables(study)
    return {
        "study": {"kind": study.kind, "id": study.obj.pk, "name": study.name},
        "files": {"long_csv": f"{study.file_stem}-long.csv", "sav": f"{study.file_stem}.sav"},
        "long_columns": {
            "participant_code": "opaque participant code (P-XXXXXXXX); no other identifier is exported",
            "unit": "what a row measures: session (a listening session), participant (no session), track (a rating)",
            "unit_id": "listening session id or track id; empty for participant-level measures",
            "variant": "experiment variant the session was assigned to (empty otherwise)",
            "phase": "pre (before the task), post (after), empty for measures without a phase",
            "variable": "the variable name, described below",
            "value": "the value; empty when missing",
            "recorded_at": "when it was recorded, ISO 8601 UTC",
        },
        "missing_values": MISSING,
        "variables": [{**{k: v for k, v in asdict(var).items() if k != "value_labels"},
                       "value_labels": {str(k): v for k, v in var.value_labels.items()},
                       "sav_columns": list(var.sav_columns)} for var in variables],
        "instruments": {k: {"name": conf.instrument(k).name, "reference": conf.instrument(k).reference,
                            "licence": conf.instrument(k).licence} for k in _instrument_keys(study)},
        "r": r_snippet(study),
    }


def codebook_csv_lines(study: Study) -> Iterator[str]:
    return csv_lines(CODEBOOK_COLUMNS, (v.codebook_row() for v in study_variables(study)))


# ---------------------------------------------------------------------------------------------
# SPSS .sav


def _sav_name(name: str) -> str:
    return name[:64]


def wide_table(study: Study) -> tuple[list[str], list[dict[str, Any]], list[Variable]]:
    """(columns, rows, variables): one row per participant and unit, a column per variable and phase."""
    variables = study_variables(study)
    columns = ["participant_code", "unit", "unit_id", "variant"]
    for var in variables:
        columns.extend(_sav_name(c) for c in var.sav_columns)
    rows: dict[tuple, dict[str, Any]] = {}
    for code, unit, unit_id, variant, phase, name, value, _at in long_rows(study):
        key = (code, unit, str(unit_id))
        row = rows.setdefault(key, {"participant_code": code, "unit": unit, "unit_id": str(unit_id),
                                    "variant": variant})
        if variant and not row["variant"]:
            row["variant"] = variant
        col = _sav_name(f"{name}_{phase}" if phase else name)
        row[col] = None if value == "" else value
    return columns, list(rows.values()), variables


def write_sav(study: Study, path: str) -> None:
    import pandas as pd
    import pyreadstat

    columns, rows, variables = wide_table(study)
    frame = pd.DataFrame(rows, columns=columns)
    for col in columns[4:]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in columns[:4]:
        frame[col] = frame[col].fillna("").astype(str)
    labels = {"participant_code": "Participant code", "unit": "Unit of the row (session, participant, track)",
              "unit_id": "Session or track id", "variant": "Experiment variant"}
    value_labels: dict[str, dict[float, str]] = {}
    for var in variables:
        for phase, col in zip(var.phases or ("",), var.sav_columns, strict=True):
            col = _sav_name(col)
            labels[col] = (f"{var.label} ({phase})" if phase else var.label)[:255]
            if var.value_labels:
                value_labels[col] = {float(k): v for k, v in var.value_labels.items()}
    pyreadstat.write_sav(frame, path, column_labels=[labels.get(c, c) for c in columns],
                         variable_value_labels=value_labels,
                         variable_measure={c: "nominal" for c in columns[:4]})


# ---------------------------------------------------------------------------------------------
# entry log (payment reconciliation)


def entry_rows(*, link: RecruitmentLink) -> Iterator[tuple]:
    rows = (EntryLog.objects.filter(link=link).order_by("created_at", "id")
            .values_list("participant_code", "enrollment__external_id_hash", "enrollment__service_study_id", "kind",
                         "code", "detail", "created_at"))
    for code, digest, study_id, kind, pay_code, detail, at in rows.iterator(chunk_size=CHUNK):
        yield (code, digest or "", study_id or "", kind, pay_code, detail, at.isoformat())


# ---------------------------------------------------------------------------------------------
# views (thin)


def _empty(request: HttpRequest, study: Study) -> HttpResponse:
    return render(request, "recruitment/refused.html",
                  {"reason": "empty", "message": f"{study.kind.capitalize()} “{study.name}” has no data to export yet: "
                   "no consenting participant has a session, rating or instrument answer in it."}, status=404)


def long_csv_view(request: HttpRequest, kind: str, study_id: int) -> HttpResponse:
    study = study_get(viewer=request.user, kind=kind, study_id=study_id)
    if not has_data(study):
        return _empty(request, study)
    response = StreamingHttpResponse(long_csv_lines(study), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.file_stem}-long.csv"'
    return response


def codebook_view(request: HttpRequest, kind: str, study_id: int, fmt: str) -> HttpResponse:
    study = study_get(viewer=request.user, kind=kind, study_id=study_id)
    if fmt == "json":
        response = HttpResponse(json.dumps(codebook_document(study), indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
    elif fmt == "csv":
        response = StreamingHttpResponse(codebook_csv_lines(study), content_type="text/csv; charset=utf-8")
    else:
        raise Http404("The codebook comes as .csv or .json.")
    response["Content-Disposition"] = f'attachment; filename="{study.file_stem}-codebook.{fmt}"'
    return response


def sav_view(request: HttpRequest, kind: str, study_id: int) -> HttpResponse:
    study = study_get(viewer=request.user, kind=kind, study_id=study_id)
    if not has_data(study):
        return _empty(request, study)
    fd, path = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        write_sav(study, path)
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    finally:
        os.unlink(path)  # the open handle keeps the data readable on POSIX
    return FileResponse(handle, as_attachment=True, filename=f"{study.file_stem}.sav",
                        content_type="application/x-spss-sav")


def entries_csv_view(request: HttpRequest, link_id: int) -> HttpResponse:
    if not (request.user.is_authenticated and request.user.is_staff
            and request.user.has_perm("recruitment.view_recruitmentlink")):
        raise PermissionDenied("Only researchers may export the entry log.")
    link = RecruitmentLink.objects.filter(pk=link_id).first()
    if link is None:
        raise Http404("No such recruitment link.")
    response = StreamingHttpResponse(csv_lines(ENTRY_COLUMNS, entry_rows(link=link)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(link.name) or "link"}-entries.csv"'
    return response
