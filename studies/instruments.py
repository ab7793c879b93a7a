"""Validated self-report instruments: item wording, response format, scoring. Pure: no Django.

Each instrument is a frozen dataclass that states its items (exact wording), its response
range, which items are reverse-scored, how its scales are scored, whether higher is better
for each scale, the reference it comes from and what its licence allows. Scoring takes
either one person's answers (a mapping item key -> number; `score`) or many people's answers
at once (an array, one row per person, columns in item order; `score_array`), and refuses
missing items, unknown items and out-of-range values with a message that names them.

Instruments (and their scoring, as published):

- SAM — Self-Assessment Manikin. Bradley, M. M. & Lang, P. J. (1994). Measuring emotion:
  the Self-Assessment Manikin and the semantic differential. J. Behav. Ther. Exp.
  Psychiatry 25(1), 49–59. Three pictorial 9-point scales (pleasure, arousal, dominance),
  each scored as the chosen point 1–9 (1 = unhappy / calm / controlled, 9 = happy /
  excited / in control). The manikins are drawn by Attune (templates, SVG); the figure is
  in the public domain (Lang's originals are distributed freely for research).
- STAI-6 — Marteau, T. M. & Bekker, H. (1992). The development of a six-item short-form of
  the state scale of the Spielberger State–Trait Anxiety Inventory (STAI). Br. J. Clin.
  Psychol. 31(3), 301–306. Six state items answered 1 = not at all, 2 = somewhat,
  3 = moderately, 4 = very much; items 1, 4, 5 (calm, relaxed, content) are reverse-scored
  (5 − x); the sum (6–24) is multiplied by 20/6, giving 20–80 comparable to the full
  20-item state scale. Lower is better (less anxiety).
  LICENCE: the STAI items are © 1968, 1977 C. D. Spielberger, published by Mind Garden, Inc.;
  reproducing them needs a licence from Mind Garden. The wording below is the one printed in
  Marteau & Bekker (1992); a deployment without a licence must replace it through the setting
  `ATTUNE_INSTRUMENT_WORDING` (see studies/recruitment/conf.py), which `with_wording` applies.
- VAS — 100-mm visual analogue scales: Hayes, M. H. S. & Patterson, D. G. (1921) for the
  form; for anxiety Davey, H. M. et al. (2007), "Visual analogue scales for anxiety",
  J. Clin. Epidemiol. 60(4), 356–360; for pain Hawker, G. A. et al. (2011), Arthritis Care
  Res. 63(S11), S240–S252. A line from 0 to 100 mm, scored as the distance in mm from the
  left end (0–100, decimals allowed). Lower is better for both. Public domain.
- I-PANAS-SF — Thompson, E. R. (2007). Development and validation of an internationally
  reliable short-form of the Positive and Negative Affect Schedule (PANAS). J. Cross-Cult.
  Psychol. 38(2), 227–242. Ten adjectives answered 1 = never … 5 = always; positive affect
  (PA) = sum of alert, inspired, determined, attentive, active (5–25, higher is better);
  negative affect (NA) = sum of upset, hostile, ashamed, nervous, afraid (5–25, lower is
  better). For a before/after design the time frame is "right now" (Thompson's items with the
  PANAS momentary instruction, Watson, Clark & Tellegen 1988).
  LICENCE: the PANAS adjectives are © 1988 American Psychological Association; Thompson's
  short form is free for research use as published, but check with the APA for commercial
  use. The wording is a setting like STAI-6's.
- GEMS-9 — Zentner, M., Grandjean, D. & Scherer, K. R. (2008). Emotions evoked by the sound
  of music: characterization, classification, and measurement. Emotion 8(4), 494–521. Nine
  items, one per GEMS factor, answered 1 = not at all … 5 = very much; each item is its own
  scale (no total). No direction (which emotion is "better" depends on the study). Free for
  research use as published (Zentner's GEMS page).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np


def _(message: str) -> str:
    """Marks participant-facing wording for `makemessages` (this module imports nothing from
    Django); studies.recruitment.views shows it in the active language. A translation made this
    way is not a validated one: a study that needs a validated translation sets it through
    ATTUNE_INSTRUMENT_WORDING."""
    return message


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"
    NEITHER = "neither"


class InstrumentError(ValueError):
    """Answers that cannot be scored; `problems` lists each one in plain words."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    reverse: bool = False
    low_anchor: str = ""
    high_anchor: str = ""


@dataclass(frozen=True)
class Scale:
    """One score of an instrument: ``method`` is "sum" (of the items, reverse-scored where
    marked) or "value" (a single item's answer), times ``multiplier``."""

    key: str
    label: str
    items: tuple[str, ...]
    direction: Direction
    low: float
    high: float
    unit: str = "points"
    method: str = "sum"
    multiplier: float = 1.0


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    reference: str
    licence: str
    instructions: str
    items: tuple[Item, ...]
    response_min: float
    response_max: float
    integer: bool
    response_labels: tuple[tuple[int, str], ...]
    scales: tuple[Scale, ...]
    primary_scale: str
    wording_restricted: bool = False
    widget: str = "radio"  # radio | sam | vas

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(it.key for it in self.items)

    def scale(self, key: str) -> Scale:
        for s in self.scales:
            if s.key == key:
                return s
        raise KeyError(f"{self.name} has no scale {key!r}; it has {', '.join(s.key for s in self.scales)}.")

    @property
    def score_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.scales)


_FOUR = ((1, _("Not at all")), (2, _("Somewhat")), (3, _("Moderately")), (4, _("Very much")))
_FIVE_NEVER = ((1, _("Never")), (2, _("Rarely")), (3, _("Sometimes")), (4, _("Often")), (5, _("Always")))
_FIVE_AMOUNT = ((1, _("Not at all")), (2, _("Somewhat")), (3, _("Moderately")), (4, _("Quite a lot")),
                (5, _("Very much")))

SAM = Instrument(
    key="sam", name=_("Self-Assessment Manikin (SAM)"),
    reference="Bradley & Lang (1994), J. Behav. Ther. Exp. Psychiatry 25(1), 49–59",
    licence="Free for research use; the manikins are drawn by Attune.",
    instructions=_("Pick the figure on each row that best shows how you feel right now."),
    items=(
        Item("pleasure", _("Pleasure: how unhappy or happy do you feel?"), low_anchor=_("unhappy, annoyed"),
             high_anchor=_("happy, pleased")),
        Item("arousal", _("Arousal: how calm or excited do you feel?"), low_anchor=_("calm, relaxed"),
             high_anchor=_("excited, stimulated")),
        Item("dominance", _("Dominance: how controlled or in control do you feel?"),
             low_anchor=_("controlled, influenced"), high_anchor=_("in control, dominant")),
    ),
    response_min=1, response_max=9, integer=True, response_labels=tuple((i, str(i)) for i in range(1, 10)),
    scales=(
        Scale("pleasure", "SAM pleasure", ("pleasure",), Direction.HIGHER_IS_BETTER, 1, 9, method="value"),
        Scale("arousal", "SAM arousal", ("arousal",), Direction.NEITHER, 1, 9, method="value"),
        Scale("dominance", "SAM dominance", ("dominance",), Direction.HIGHER_IS_BETTER, 1, 9, method="value"),
    ),
    primary_scale="pleasure", widget="sam",
)

STAI6 = Instrument(
    key="stai6", name=_("STAI-6 (state anxiety, six-item short form)"),
    reference="Marteau & Bekker (1992), Br. J. Clin. Psychol. 31(3), 301–306",
    licence="STAI items © Spielberger / Mind Garden, Inc.: reproduction needs a licence. "
            "Replace the wording with ATTUNE_INSTRUMENT_WORDING if you hold none.",
    instructions=_("Read each statement and pick the answer that best describes how you feel right now, "
                   "at this moment. There are no right or wrong answers."),
    items=(
        Item("calm", _("I feel calm"), reverse=True),
        Item("tense", _("I am tense")),
        Item("upset", _("I feel upset")),
        Item("relaxed", _("I am relaxed"), reverse=True),
        Item("content", _("I feel content"), reverse=True),
        Item("worried", _("I am worried")),
    ),
    response_min=1, response_max=4, integer=True, response_labels=_FOUR,
    scales=(Scale("total", "STAI-6 state anxiety (20–80)", ("calm", "tense", "upset", "relaxed", "content", "worried"),
                  Direction.LOWER_IS_BETTER, 20, 80, multiplier=20 / 6),),
    primary_scale="total", wording_restricted=True,
)

VAS_ANXIETY = Instrument(
    key="vas_anxiety", name=_("Visual analogue scale: anxiety (100 mm)"),
    reference="Davey et al. (2007), J. Clin. Epidemiol. 60(4), 356–360",
    licence="Public domain.",
    instructions=_("Move the marker along the line to show how anxious you feel right now."),
    items=(Item("anxiety", _("How anxious do you feel right now?"), low_anchor=_("Not anxious at all"),
                high_anchor=_("Extremely anxious")),),
    response_min=0, response_max=100, integer=False, response_labels=(),
    scales=(Scale("anxiety", "VAS anxiety (mm)", ("anxiety",), Direction.LOWER_IS_BETTER, 0, 100, unit="mm",
                  method="value"),),
    primary_scale="anxiety", widget="vas",
)

VAS_PAIN = Instrument(
    key="vas_pain", name=_("Visual analogue scale: pain (100 mm)"),
    reference="Hawker et al. (2011), Arthritis Care Res. 63(S11), S240–S252",
    licence="Public domain.",
    instructions=_("Move the marker along the line to show how much pain you feel right now."),
    items=(Item("pain", _("How much pain do you feel right now?"), low_anchor=_("No pain"),
                high_anchor=_("Worst imaginable pain")),),
    response_min=0, response_max=100, integer=False, response_labels=(),
    scales=(Scale("pain", "VAS pain (mm)", ("pain",), Direction.LOWER_IS_BETTER, 0, 100, unit="mm",
                  method="value"),),
    primary_scale="pain", widget="vas",
)

_PA = ("alert", "inspired", "determined", "attentive", "active")
_NA = ("upset", "hostile", "ashamed", "nervous", "afraid")
IPANAS_SF = Instrument(
    key="ipanas_sf", name=_("I-PANAS-SF (international PANAS short form)"),
    reference="Thompson (2007), J. Cross-Cult. Psychol. 38(2), 227–242",
    licence="PANAS adjectives © 1988 APA; the short form is free for research use as published. "
            "The wording can be replaced with ATTUNE_INSTRUMENT_WORDING.",
    instructions=_("Thinking about yourself and how you feel right now, to what extent do you feel:"),
    items=(Item("upset", _("Upset")), Item("hostile", _("Hostile")), Item("alert", _("Alert")),
           Item("ashamed", _("Ashamed")), Item("inspired", _("Inspired")), Item("nervous", _("Nervous")),
           Item("determined", _("Determined")), Item("attentive", _("Attentive")), Item("afraid", _("Afraid")),
           Item("active", _("Active"))),
    response_min=1, response_max=5, integer=True, response_labels=_FIVE_NEVER,
    scales=(
        Scale("positive_affect", "I-PANAS-SF positive affect (5–25)", _PA, Direction.HIGHER_IS_BETTER, 5, 25),
        Scale("negative_affect", "I-PANAS-SF negative affect (5–25)", _NA, Direction.LOWER_IS_BETTER, 5, 25),
    ),
    primary_scale="negative_affect", wording_restricted=True,
)

_GEMS_WORDING = (
    ("wonder", _("Wonder (filled with wonder, dazzled, moved)")),
    ("transcendence", _("Transcendence (fascinated, overwhelmed, feelings of transcendence and spirituality)")),
    ("tenderness", _("Tenderness (tenderness, affectionate, in love, mellow)")),
    ("nostalgia", _("Nostalgia (nostalgic, dreamy, sentimental, melancholic)")),
    ("peacefulness", _("Peacefulness (serene, calm, soothed, relaxed)")),
    ("power", _("Power (energetic, triumphant, fiery, strong, heroic)")),
    ("joyful_activation", _("Joyful activation (joyful, amused, bouncy, animated)")),
    ("tension", _("Tension (tense, agitated, nervous, irritated)")),
    ("sadness", _("Sadness (sad, sorrowful)")),
)
GEMS9 = Instrument(
    key="gems9", name=_("GEMS-9 (Geneva Emotional Music Scale, nine items)"),
    reference="Zentner, Grandjean & Scherer (2008), Emotion 8(4), 494–521",
    licence="Free for research use as published.",
    instructions=_("How strongly did you feel each of these while listening?"),
    items=tuple(Item(k, text) for k, text in _GEMS_WORDING),
    response_min=1, response_max=5, integer=True, response_labels=_FIVE_AMOUNT,
    scales=tuple(Scale(k, f"GEMS-9 {k.replace('_', ' ')}", (k,), Direction.NEITHER, 1, 5, method="value")
                 for k, _text in _GEMS_WORDING),
    primary_scale="peacefulness",
)

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (SAM, STAI6, VAS_ANXIETY, VAS_PAIN, IPANAS_SF, GEMS9)}


def instrument(key: str) -> Instrument:
    try:
        return INSTRUMENTS[key]
    except KeyError:
        raise InstrumentError([f"Unknown instrument {key!r}; expected one of {', '.join(INSTRUMENTS)}."]) from None


def with_wording(inst: Instrument, texts: Mapping[str, str]) -> Instrument:
    """The same instrument with some item texts replaced (a licensed or translated wording).
    Scoring is unchanged; an unknown item key is refused."""
    unknown = sorted(set(texts) - set(inst.item_keys))
    if unknown:
        raise InstrumentError([f"{inst.name} has no item(s) {', '.join(unknown)}; "
                               f"its items are {', '.join(inst.item_keys)}."])
    bad = [k for k, v in texts.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise InstrumentError([f"The wording of {', '.join(sorted(bad))} must be non-empty text."])
    items = tuple(replace(it, text=texts.get(it.key, it.text)) for it in inst.items)
    return replace(inst, items=items)


def _check_values(inst: Instrument, values: np.ndarray, labels: Sequence[str]) -> list[str]:
    problems = []
    for j, label in enumerate(labels):
        col = values[:, j]
        bad = ~np.isfinite(col) | (col < inst.response_min) | (col > inst.response_max)
        if inst.integer:
            bad |= np.isfinite(col) & (col != np.round(col))
        if bad.any():
            rows = np.flatnonzero(bad)
            shown = ", ".join(str(int(r)) for r in rows[:5]) + (" …" if rows.size > 5 else "")
            kind = "whole numbers" if inst.integer else "numbers"
            problems.append(f"{label}: expected {kind} from {inst.response_min:g} to {inst.response_max:g}"
                            + (f" (rows {shown})" if values.shape[0] > 1 else f", got {col[0]:g}"))
    return problems


def score_array(inst: Instrument, answers: np.ndarray) -> dict[str, np.ndarray]:
    """Scores for many people at once: ``answers`` has one row per person and one column per
    item in ``inst.items`` order. Returns scale key -> array of scores (one per row)."""
    values = np.asarray(answers, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(inst.items):
        raise InstrumentError([f"{inst.name} needs {len(inst.items)} answers per row "
                               f"({', '.join(inst.item_keys)}); got an array of shape {values.shape}."])
    problems = _check_values(inst, values, inst.item_keys)
    if problems:
        raise InstrumentError(problems)
    keyed = values.copy()
    for j, it in enumerate(inst.items):
        if it.reverse:
            keyed[:, j] = inst.response_min + inst.response_max - keyed[:, j]
    out: dict[str, np.ndarray] = {}
    for s in inst.scales:
        cols = [inst.item_keys.index(k) for k in s.items]
        raw = keyed[:, cols[0]] if s.method == "value" else keyed[:, cols].sum(axis=1)
        out[s.key] = raw * s.multiplier
    return out


def score(inst: Instrument, answers: Mapping[str, object]) -> dict[str, float]:
    """Scores of one person's answers (item key -> number). Every item is required; an unknown
    key, a missing item, a non-number or an out-of-range value is refused with all problems
    named at once."""
    problems = []
    unknown = sorted(set(map(str, answers)) - set(inst.item_keys))
    if unknown:
        problems.append(f"unknown item(s) {', '.join(unknown)} (expected {', '.join(inst.item_keys)})")
    missing = [k for k in inst.item_keys if answers.get(k) in (None, "")]
    if missing:
        problems.append(f"missing answer(s): {', '.join(missing)}")
    row = []
    for k in inst.item_keys:
        v = answers.get(k)
        if v in (None, ""):
            row.append(np.nan)
            continue
        if isinstance(v, bool):
            problems.append(f"{k}: expected a number, got {v!r}")
            row.append(np.nan)
            continue
        try:
            row.append(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            problems.append(f"{k}: expected a number, got {v!r}")
            row.append(np.nan)
    if problems:
        raise InstrumentError([f"{inst.name}: {p}" for p in problems])
    values = np.asarray([row], dtype=np.float64)
    range_problems = _check_values(inst, values, inst.item_keys)
    if range_problems:
        raise InstrumentError([f"{inst.name}: {p}" for p in range_problems])
    return {k: float(v[0]) for k, v in score_array(inst, values).items()}


def change(pre: np.ndarray | float, post: np.ndarray | float) -> np.ndarray:
    """The instrument change post − pre (NaN where either is missing)."""
    return np.asarray(post, dtype=np.float64) - np.asarray(pre, dtype=np.float64)


def improvement(inst: Instrument, scale_key: str, pre: np.ndarray | float, post: np.ndarray | float) -> np.ndarray:
    """post − pre signed so that positive means better: negated for lower-is-better scales.
    Refused for scales with no direction (the sign would be a guess)."""
    s = inst.scale(scale_key)
    if s.direction == Direction.NEITHER:
        raise InstrumentError([f"{s.label} has no better direction; use the raw change post − pre."])
    delta = change(pre, post)
    return -delta if s.direction == Direction.LOWER_IS_BETTER else delta


def metric_choices() -> list[tuple[str, str]]:
    """Every scored instrument scale as an experiment metric "instrument:<inst>:<scale>"
    (its change post − pre), with a label saying which direction is better."""
    out = []
    for inst in INSTRUMENTS.values():
        for s in inst.scales:
            better = {Direction.HIGHER_IS_BETTER: "higher is better", Direction.LOWER_IS_BETTER: "lower is better",
                      Direction.NEITHER: "no better direction"}[s.direction]
            out.append((f"instrument:{inst.key}:{s.key}", f"{s.label}: change post − pre ({better})"))
    return out


def parse_metric(name: str) -> tuple[Instrument, Scale] | None:
    """(instrument, scale) for a metric name "instrument:<inst>:<scale>", None for other metrics."""
    parts = name.split(":")
    if len(parts) != 3 or parts[0] != "instrument":
        return None
    inst = INSTRUMENTS.get(parts[1])
    if inst is None:
        return None
    try:
        return inst, inst.scale(parts[2])
    except KeyError:
        return None
