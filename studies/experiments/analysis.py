"""The analysis of one experiment, from session outcomes to a JSON-ready snapshot.

Pure orchestration: no Django imports. It takes the experiment's design (a dataclass), the
outcomes of the exposed sessions (studies.listening.selectors.SessionOutcome or anything with
the same attributes) and which variant each session was exposed to, gathers each variant's arrays
(studies.stats.ArmData) and calls ``studies.stats.analyze_experiment`` for every number and
studies/plots.py for every picture. Nothing statistical is computed here; what this module
decides is which session values feed which array, the CUPED covariate per metric and the look
schedule.

The participant is the unit of analysis (assignment is sticky per participant and participants
take several sessions; see studies/stats/cluster.py). Per treatment variant (each against the
control), between-subject design:
- primary metric (per protocol: sessions with a post-session mood): per-variant summary, the
  difference in means with participant-clustered CR2 standard errors and t(G − 1), the rank
  test on per-participant means, the participant (cluster) bootstrap, Hedges' g on participant
  means, CUPED as a clustered regression with the pre-session state as covariate (Lin's
  interacted form when the arms differ in size; the primary test when every session has the
  covariate), the verdict;
- intention to treat: every exposed session of every exposed participant, where a session
  without a post-session mood (abandoned, or never rated) counts as **no change** (outcome 0
  for the mood-shift and valence-change metrics; not defined for the reflection rating, which
  has no "no change" value), clustered difference in means;
- differential attrition: share of sessions with a post-mood per arm, clustered comparison of
  proportions, flagged at |difference| ≥ 5 points or p < 0.05;
- sequential monitoring: clustered mSPRT always-valid p-value and confidence sequence over the
  looks (end of each day when the data span three days or more, otherwise evenly spaced looks
  in arrival order; burn-in counted in participants; τ = the experiment's minimum detectable
  effect);
- secondary metrics: completion rate (clustered comparison of proportions), skip rate and
  reflection rating (clustered difference), Holm-adjusted across the secondary metrics;
and once per experiment: the sample-ratio-mismatch check on participants per variant, the
observed ICC and effective sample size, and the interim rule: before the planned number of
participants is reached the headline is the always-valid sequential result and the
fixed-horizon figures are labelled "interim, not a verdict".

Within-subject (crossover) design: every participant's sessions cycle through the variants in
an order from a balanced Latin square; the analysis is paired (per-participant mean
differences, period effect estimated and reported, studies.cluster.paired_crossover) and
the SRM check runs on the order groups.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from studies import instruments, plots
from studies.stats import cluster
from studies.stats.hypothesis import sample_ratio_mismatch
from studies.stats.report import ArmData, Comparison, analyze_experiment, verdict
from studies.stats.sequential import SequentialResult

METRIC_LABELS = {
    "shift_toward_target": "mood shift toward the target",
    "valence_change": "valence change",
    "reflection_rating": "reflection rating",
    "completion_rate": "completion rate",
    "skip_rate": "skip rate",
}
# CUPED covariate: the pre-session state that best predicts each primary metric.
COVARIATE = {"shift_toward_target": "pre_distance", "valence_change": "pre_valence",
             "reflection_rating": "pre_valence"}
# Instrument changes (post − pre; studies/instruments.py): the pre score is the CUPED covariate.
METRIC_LABELS.update(instruments.metric_choices())
COVARIATE.update({name: f"{name}:pre" for name, _ in instruments.metric_choices()})
SCHEMA = 2  # 2: participant-level analysis (unit_of_analysis, icc, interim, itt, attrition, crossover)


@dataclasses.dataclass(frozen=True)
class VariantDesign:
    id: int
    name: str
    strategy: str
    weight: float
    is_control: bool


@dataclasses.dataclass(frozen=True)
class Design:
    experiment_id: int
    name: str
    primary_metric: str
    secondary_metrics: tuple[str, ...]
    alpha: float
    mde: float
    variants: tuple[VariantDesign, ...]
    bootstrap_resamples: int = 4000
    max_looks: int = 20
    design: str = "between"  # or "within" (crossover)
    planned_participants: int | None = None
    assumed_icc: float | None = None

    @classmethod
    def of(cls, experiment: Any, *, bootstrap_resamples: int = 4000, max_looks: int = 20) -> Design:
        variants = tuple(VariantDesign(id=v.pk, name=v.name, strategy=v.strategy, weight=float(v.weight),
                                       is_control=bool(v.is_control)) for v in experiment.variants.all())
        return cls(experiment_id=experiment.pk, name=experiment.name, primary_metric=experiment.primary_metric,
                   secondary_metrics=tuple(experiment.secondary_metrics or ()), alpha=float(experiment.alpha),
                   mde=float(experiment.minimum_detectable_effect), variants=variants,
                   bootstrap_resamples=bootstrap_resamples, max_looks=max_looks, design=experiment.design,
                   planned_participants=experiment.planned_participants, assumed_icc=float(experiment.assumed_icc))

    @property
    def control(self) -> VariantDesign | None:
        return next((v for v in self.variants if v.is_control), None)


def _clean(value: Any) -> Any:
    """JSON-ready copy: dataclasses to dicts, tuples to lists, numpy to Python, non-finite to None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def _effect_row(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"method": result.method, "effect": result.effect, "ci_low": result.ci_low, "ci_high": result.ci_high,
            "confidence": result.confidence, "p_value": result.p_value}


def _values(outcomes: Sequence[Any], metric: str) -> np.ndarray:
    return np.asarray([getattr(o, metric) for o in outcomes if getattr(o, metric) is not None], dtype=np.float64)


def look_schedule(times: np.ndarray, *, max_looks: int,
                  participants: np.ndarray | None = None) -> tuple[list[float], list[str]]:
    """Look times and labels: the end of each UTC day when the data span three days or more,
    otherwise up to ``max_looks`` looks evenly spaced in arrival order. With ``participants``
    (one id per time) the even spacing counts participants: a look after every few newly arrived
    participants, the last one at the last session, labelled "N participants"."""
    if times.size == 0:
        return [], []
    days = sorted({datetime.fromtimestamp(t, tz=UTC).date() for t in times})
    if len(days) >= 3:
        ends = [datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp() - 1e-6
                for d in days]
        return ends, [d.isoformat() for d in days]
    if participants is not None:
        order = np.argsort(times, kind="stable")
        _, first = np.unique(np.asarray(participants)[order], return_index=True)
        arrivals = np.sort(np.asarray(times, dtype=np.float64)[order][first])
        k = int(min(max_looks, arrivals.size))
        idx = np.unique(np.ceil(np.linspace(arrivals.size / k, arrivals.size, k)).astype(int) - 1)
        looks = [float(arrivals[i]) for i in idx[:-1]] + [float(np.max(times))]
        return looks, [f"{i + 1} participants" for i in idx]
    ordered = np.sort(times)
    k = int(min(max_looks, ordered.size))
    idx = np.unique(np.ceil(np.linspace(ordered.size / k, ordered.size, k)).astype(int) - 1)
    return [float(ordered[i]) for i in idx], [f"{i + 1} sessions" for i in idx]


def _metric_rows(outcomes: Sequence[Any], metric: str) -> list[Any]:
    """Sessions that have a value of the metric, in arrival order."""
    return sorted((o for o in outcomes if getattr(o, metric) is not None), key=lambda o: (o.created_at, o.session_id))


def _codes(rows: Sequence[Any]) -> np.ndarray:
    return np.asarray([o.participant_code for o in rows], dtype=str)


def _arm_data(v: VariantDesign, rows: Sequence[Any], *, design: Design, participants: int) -> ArmData:
    metric = design.primary_metric
    measured = _metric_rows(rows, metric)
    covariates = [getattr(o, COVARIATE[metric]) for o in measured]
    secondary, secondary_participants = {}, {}
    for name in design.secondary_metrics:
        if name != "completion_rate":
            got = _metric_rows(rows, name)
            secondary[METRIC_LABELS[name]] = np.asarray([getattr(o, name) for o in got], dtype=np.float64)
            secondary_participants[METRIC_LABELS[name]] = _codes(got)
    with_completion = "completion_rate" in design.secondary_metrics
    return ArmData(
        name=v.name, weight=v.weight, exposures=participants,
        outcomes=np.asarray([getattr(o, metric) for o in measured], dtype=np.float64),
        covariates=None if any(c is None for c in covariates) else np.asarray(covariates, dtype=np.float64),
        sessions=len(rows) if with_completion else 0,
        completed=sum(o.completed for o in rows) if with_completion else 0,
        secondary=secondary,
        times=np.asarray([o.created_at.timestamp() for o in measured], dtype=np.float64),
        participants=_codes(measured),
        completion=np.asarray([float(o.completed) for o in rows]) if with_completion else None,
        session_participants=_codes(rows) if with_completion else None,
        secondary_participants=secondary_participants)


_METHOD_NOTES = {"difference": "difference in means", "welch": "Welch t-test", "cuped": "CUPED", "mann_whitney": "Mann–Whitney U", "bootstrap": "bootstrap",
                 "hedges_g": "Hedges' g", "sequential": "sequential test"}
_LABEL_TO_METRIC = {label: key for key, label in METRIC_LABELS.items()}


def _errors(notes: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = dict.fromkeys(_METHOD_NOTES)
    for note in notes:
        for key, prefix in _METHOD_NOTES.items():
            if note.startswith(prefix + ":"):
                out[key] = note[len(prefix) + 1:].strip()
    return out


def _comparison_json(comp: Comparison, *, design: Design, variant: VariantDesign, control: VariantDesign,
                     look_labels: Sequence[str], label: str) -> dict[str, Any]:
    errors = _errors(comp.notes)
    cuped = None
    if comp.cuped is not None:
        cuped = {**_effect_row(comp.cuped), "theta": comp.cuped.theta,
                 "variance_reduction": comp.cuped.variance_reduction,
                 "interacted": getattr(comp.cuped, "interacted", False),
                 "unadjusted_effect": comp.cuped.unadjusted_effect, "covariate": COVARIATE[design.primary_metric]}
    primary = {"method": comp.primary.method if comp.primary is not None else None,
               "difference": comp.difference, "welch": comp.welch, "mann_whitney": comp.mann_whitney,
               "bootstrap": comp.bootstrap, "hedges_g": comp.hedges_g, "cuped": cuped, "errors": errors,
               "verdict": {**_clean(comp.verdict), "sentence": comp.verdict.sentence} if comp.verdict else None}
    seq = comp.sequential
    if seq is not None:
        labels = list(look_labels)[-len(seq.looks):] if look_labels else []
        decision = (f"reject H0 at α = {design.alpha:g}" if seq.rejected
                    else f"not enough evidence to reject H0 at α = {design.alpha:g}")
        sequential = {"method": seq.method, "p_value": seq.p_value, "ci_low": seq.ci_low, "ci_high": seq.ci_high,
                      "effect": seq.effect, "rejected": seq.rejected,
                      "first_rejection": (labels[seq.first_rejection] if labels else f"look {seq.first_rejection + 1}")
                      if seq.rejected else None,
                      "looks": len(seq.looks), "tau": seq.tau, "decision": decision, "error": None}
    else:
        sequential = {"error": errors["sequential"] or "not computed yet"}
    secondary = []
    done = {r.name: r for r in comp.secondary}
    for metric in design.secondary_metrics:
        r = done.get(METRIC_LABELS[metric])
        if r is None:
            why = next((n.split(":", 1)[1].strip() for n in comp.notes if n.startswith(METRIC_LABELS[metric] + ":")),
                       "not enough data yet")
            secondary.append({"metric": metric, "label": METRIC_LABELS[metric], "error": why})
        else:
            secondary.append({"metric": metric, "label": METRIC_LABELS[metric], "method": r.method, "effect": r.effect,
                              "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
                              "p_holm": r.adjusted_p_value, "reject": r.reject, "error": None})
    return _clean({"variant_id": variant.id, "variant": variant.name, "control": control.name, "label": label,
                   "primary": primary, "sequential": sequential, "secondary": secondary, "notes": list(comp.notes)})


UNIT_OF_ANALYSIS = ("participant: assignment is per participant and a participant may take several sessions, "
                    "so every test counts participants as the independent units (session outcomes are averaged "
                    "or clustered within participant)")
ATTRITION_FLAG_POINTS = 0.05
ITT_METRICS = ("shift_toward_target", "valence_change")  # outcomes with a natural "no change" value (0)
ITT_DEFINITION = ("intention to treat: every exposed session of every exposed participant; a session without a "
                  "post-session mood (abandoned or never rated) counts as no change (0)")


def analyse(*, design: Design, outcomes: Sequence[Any], variant_of: Mapping[int, int],
            participants: Mapping[int, int] | None = None, with_plots: bool = True) -> dict[str, Any]:
    """The whole analysis as a JSON-ready dict: studies.stats.analyze_experiment on the arms' data."""
    by_variant: dict[int, list[Any]] = {v.id: [] for v in design.variants}
    for o in outcomes:
        vid = variant_of.get(o.session_id)
        if vid in by_variant:
            by_variant[vid].append(o)
    metric = design.primary_metric
    metric_label = METRIC_LABELS[metric]
    counted = {vid: len({o.participant_code for o in rows}) for vid, rows in by_variant.items()}
    counted.update({k: v for k, v in (participants or {}).items() if k in counted})
    everyone = {o.participant_code for rows in by_variant.values() for o in rows}
    result: dict[str, Any] = {"schema": SCHEMA, "primary_metric": metric, "metric_label": metric_label,
                              "alpha": design.alpha, "confidence_label": f"{1 - design.alpha:.0%}",
                              "mde": design.mde, "n_sessions": sum(map(len, by_variant.values())),
                              "n_participants": len(everyone), "design": design.design,
                              "unit_of_analysis": UNIT_OF_ANALYSIS,
                              "planned_participants": design.planned_participants, "assumed_icc": design.assumed_icc,
                              "variants": [], "comparisons": [], "notes": [], "icc": None, "crossover": None}
    control = design.control
    treatments = [v for v in design.variants if control is None or v.id != control.id]
    result["interim"] = bool(design.planned_participants is None or len(everyone) < design.planned_participants)
    if design.design == "within":
        return _analyse_within(result, design=design, by_variant=by_variant, control=control, treatments=treatments)
    analysis = None
    look_times: list[float] = []
    look_labels: list[str] = []
    if control is None or not treatments:
        result["notes"].append("An analysis needs a control variant and at least one other variant.")
    else:
        arms = {v.id: _arm_data(v, by_variant[v.id], design=design, participants=counted[v.id])
                for v in design.variants}
        all_times = np.concatenate([a.times for a in arms.values()])
        all_people = np.concatenate([a.participants for a in arms.values()])
        look_times, look_labels = look_schedule(all_times, max_looks=design.max_looks, participants=all_people)
        analysis = analyze_experiment(
            control=arms[control.id], treatments=[arms[v.id] for v in treatments], alpha=design.alpha,
            effect_label=f"{metric_label} (treatment − control)", n_resamples=design.bootstrap_resamples,
            look_times=look_times or None, tau=design.mde, seed=design.experiment_id)
        result["notes"].extend(analysis.notes)
        if analysis.icc is not None:
            result["icc"] = _clean(analysis.icc)

    reports = {r.name: r for r in analysis.arms} if analysis else {}
    for v in design.variants:
        rows = by_variant[v.id]
        report = reports.get(v.name)
        result["variants"].append(_clean({
            "id": v.id, "name": v.name, "strategy": v.strategy, "weight": v.weight, "is_control": v.is_control,
            "sessions": len(rows), "participants": counted[v.id], "completed": sum(o.completed for o in rows),
            "participants_with_outcome": report.participants if report else None,
            "summary": report.summary if report else None,
            "participant_summary": report.participant_summary if report else None,
            "summary_error": None if report and report.summary else "fewer than 2 outcomes so far"}))

    if analysis is not None and analysis.srm is not None:
        result["srm"] = {**_clean(analysis.srm), "status": analysis.srm.status}
    else:
        srm_note = next((n for n in result["notes"] if n.startswith("sample-ratio check")), "no exposures yet")
        result["srm"] = {"error": srm_note, "mismatch": False}

    sequential_paths: dict[str, SequentialResult] = {}
    forest: list[plots.IntervalRow] = []
    if analysis is not None:
        for v, comp in zip(treatments, analysis.comparisons, strict=True):
            label = f"{metric_label}: {v.name} − {control.name}"
            data = _comparison_json(comp, design=design, variant=v, control=control, look_labels=look_labels,
                                    label=label)
            data["itt"] = _itt(design, by_variant[v.id], by_variant[control.id])
            data["attrition"] = _attrition(design, by_variant[v.id], by_variant[control.id])
            result["comparisons"].append(data)
            if comp.sequential is not None:
                sequential_paths[v.name] = comp.sequential
            rows = [("clustered difference", comp.difference), ("participant bootstrap", comp.bootstrap),
                    ("CUPED", comp.cuped), ("always-valid (mSPRT)", comp.sequential)]
            for name, r in rows:
                if r is not None and r.ci_low <= r.effect <= r.ci_high:
                    forest.append(plots.IntervalRow(f"{v.name}: {name}", r.effect, r.ci_low, r.ci_high))

    result["verdict"] = _headline(result)
    result["plots"] = _plots(design, by_variant, forest, sequential_paths, look_labels) if with_plots else {}
    return result


def _itt(design: Design, treated: Sequence[Any], control: Sequence[Any]) -> dict[str, Any]:
    """Intention to treat on every exposed session: a missing outcome counts as no change (0)."""
    metric = design.primary_metric
    if metric not in ITT_METRICS:
        return {"definition": ITT_DEFINITION, "error": f"not defined for the {METRIC_LABELS[metric]}, which has "
                "no 'no change' value; read the per-protocol result and the attrition check"}
    rows = [*treated, *control]
    y = np.asarray([getattr(o, metric) if getattr(o, metric) is not None else 0.0 for o in rows], dtype=np.float64)
    arm = np.asarray([True] * len(treated) + [False] * len(control), dtype=bool)
    try:
        res = cluster.clustered_difference(y, _codes(rows), arm, confidence=1 - design.alpha,
                                                 label="ITT difference in means")
    except ValueError as exc:
        return {"definition": ITT_DEFINITION, "error": str(exc)}
    return _clean({"definition": ITT_DEFINITION, "error": None, **dataclasses.asdict(res),
                   "missing_as_no_change": int(sum(getattr(o, metric) is None for o in rows))})


def _attrition(design: Design, treated: Sequence[Any], control: Sequence[Any]) -> dict[str, Any]:
    """Share of exposed sessions with a primary outcome per arm, and whether it differs by arm."""
    metric = design.primary_metric
    rows = [*treated, *control]
    has = np.asarray([float(getattr(o, metric) is not None) for o in rows])
    arm = np.asarray([True] * len(treated) + [False] * len(control), dtype=bool)
    out: dict[str, Any] = {"rate_treatment": float(has[arm].mean()) if arm.any() else None,
                           "rate_control": float(has[~arm].mean()) if (~arm).any() else None,
                           "flag": False, "p_value": None, "error": None}
    try:
        res = cluster.clustered_proportions(has, _codes(rows), arm, confidence=1 - design.alpha)
    except ValueError as exc:
        out["error"] = str(exc)
        return out
    out.update(difference=res.effect, p_value=res.p_value,
               flag=bool(abs(res.effect) >= ATTRITION_FLAG_POINTS or res.p_value < 0.05))
    return _clean(out)


def _analyse_within(result: dict[str, Any], *, design: Design, by_variant, control, treatments) -> dict[str, Any]:
    """Paired analysis of a within-subject (crossover) experiment.

    Per participant, the mean primary outcome under each variant. Each treatment is compared with
    the control as an AB/BA crossover on the participants who met both: the order group is
    whether the treatment's first session came before the control's. With more than two variants
    this pairwise period adjustment is the standard approximation for a Williams design (each
    pair appears in both orders equally often by construction). Participants who have not met
    both variants yet are left out (the count says how many were paired)."""
    metric = design.primary_metric
    for v in design.variants:
        rows = by_variant[v.id]
        result["variants"].append({"id": v.id, "name": v.name, "strategy": v.strategy, "weight": v.weight,
                                   "is_control": v.is_control, "sessions": len(rows),
                                   "participants": len({o.participant_code for o in rows}),
                                   "completed": sum(o.completed for o in rows), "summary": None,
                                   "summary_error": "within-subject: see the paired analysis"})
    result["srm"] = _order_srm(design, by_variant)
    if control is None or not treatments:
        result["notes"].append("A within-subject analysis needs a control variant and at least one other variant.")
        result["verdict"] = _headline(result)
        result["plots"] = {}
        return result
    per: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for vid, rows in by_variant.items():
        for o in rows:
            value = getattr(o, metric)
            if value is not None:
                per.setdefault(o.participant_code, {}).setdefault(vid, []).append((o.created_at.timestamp(), value))
    crossover = []
    for v in treatments:
        paired = [(np.mean([x for _, x in d[v.id]]), np.mean([x for _, x in d[control.id]]),
                   min(t for t, _ in d[v.id]) < min(t for t, _ in d[control.id]))
                  for d in per.values() if v.id in d and control.id in d]
        entry: dict[str, Any] = {"variant_id": v.id, "variant": v.name, "control": control.name,
                                 "participants": len(paired), "error": None}
        try:
            res = cluster.paired_crossover([p[0] for p in paired], [p[1] for p in paired],
                                                 [p[2] for p in paired], confidence=1 - design.alpha)
        except ValueError as exc:
            entry["error"] = str(exc)
        else:
            v_ = verdict(res, alpha=design.alpha,
                               effect_label=f"{METRIC_LABELS[metric]} (treatment − control, within participant)")
            entry.update(_clean(dataclasses.asdict(res)))
            entry["verdict"] = {**_clean(v_), "sentence": v_.sentence}
        crossover.append(entry)
    result["crossover"] = crossover
    result["verdict"] = _headline(result)
    result["plots"] = {}
    return result


def _order_srm(design: Design, by_variant) -> dict[str, Any]:
    """SRM on the order groups: participants per Latin-square order against equal shares."""
    ids = sorted(v.id for v in design.variants)
    if len(ids) < 2:
        return {"error": "a within-subject design needs at least two variants", "mismatch": False}
    orders = [tuple(ids[i] for i in row) for row in cluster.latin_square_orders(len(ids))]
    seen: dict[str, list[tuple[Any, int]]] = {}
    for vid, rows in by_variant.items():
        for o in rows:
            seen.setdefault(o.participant_code, []).append((o.created_at, vid))
    counts = [0] * len(orders)
    for sessions in seen.values():
        first = [vid for _, vid in sorted(sessions)][: len(ids)]
        for i, order in enumerate(orders):
            if tuple(first) == order[: len(first)] and len(first) == len(ids):
                counts[i] += 1
                break
    try:
        srm = sample_ratio_mismatch(counts, [1.0] * len(orders))
    except ValueError as exc:
        return {"error": f"order groups: {exc}", "mismatch": False}
    return {**_clean(srm), "status": "order groups: " + srm.status}


def _headline(result: dict[str, Any]) -> str:
    """The interim rule: before the planned participants, lead with the always-valid result."""
    parts = []
    if result["srm"].get("mismatch"):
        parts.append("Sample ratio mismatch: the split of participants does not match the weights "
                     f"(p = {result['srm']['p_value']:.2g} < 0.001); do not trust the comparison until it is explained.")
    planned = result.get("planned_participants")
    n = result.get("n_participants", 0)
    if result.get("crossover") is not None:
        for comp in result["crossover"]:
            if comp.get("error"):
                parts.append(f"{comp['variant']} vs {comp['control']} (within participant): {comp['error']}.")
            else:
                parts.append(f"{comp['variant']} vs {comp['control']} (within participant): "
                             f"{comp['verdict']['sentence']}")
        return " ".join(parts) or "Nothing to compare yet."
    interim = result.get("interim", False)
    if interim and result["comparisons"]:
        of = f"{n} of {planned} planned participants" if planned else f"{n} participants, no planned sample size"
        parts.append(f"Interim: {of}. Lead result: the always-valid sequential test; "
                     "the fixed-horizon figures are interim, not a verdict.")
    for comp in result["comparisons"]:
        head = f"{comp['variant']} vs {comp['control']}"
        seq = comp["sequential"]
        verdict = comp["primary"].get("verdict")
        if interim:
            if seq.get("p_value") is not None:
                parts.append(f"{head}: always-valid (mSPRT) {seq['decision']}, p {_p_text(seq['p_value'])}, "
                             f"confidence sequence {seq['ci_low']:.3g} to {seq['ci_high']:.3g}.")
            else:
                parts.append(f"{head}: not enough data yet for the sequential test ({seq.get('error')}).")
        elif verdict is None:
            err = comp["primary"]["errors"].get("difference") or comp["primary"]["errors"].get("welch")
            parts.append(f"{head}: not enough data yet ({err}).")
        else:
            parts.append(f"{head}: {verdict['sentence']}")
        if comp.get("attrition", {}).get("flag"):
            a = comp["attrition"]
            parts.append(f"Differential attrition: {a['rate_treatment']:.0%} of {comp['variant']} sessions and "
                         f"{a['rate_control']:.0%} of {comp['control']} sessions have an outcome; read the "
                         "intention-to-treat result.")
    if not parts:
        parts.append("Nothing to compare yet.")
    return " ".join(parts)


def _p_text(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}" if p < 0.01 else f"= {p:.3f}"


def _plots(design: Design, by_variant, forest, sequential_paths, look_labels) -> dict[str, str]:
    metric_label = METRIC_LABELS[design.primary_metric]
    out: dict[str, str] = {}
    groups = [(v.name, _values(by_variant[v.id], design.primary_metric)) for v in design.variants]
    if any(vals.size for _, vals in groups):
        out["distribution"] = plots.distribution_plot(groups, title=f"{metric_label.capitalize()} per variant",
                                                      value_label=metric_label, confidence=1 - design.alpha,
                                                      seed=design.experiment_id)
    if forest:
        out["forest"] = plots.forest_plot(forest, title="Effect vs control with intervals",
                                          effect_label=f"difference in {metric_label}",
                                          confidence=1 - design.alpha)
    if sequential_paths:
        labels = None
        if len(sequential_paths) == 1 and look_labels:
            n_looks = len(next(iter(sequential_paths.values())).looks)
            labels = list(look_labels)[-n_looks:]  # the burn-in drops early looks, never later ones
        out["cumulative"] = plots.cumulative_effect_plot(sequential_paths, title="Cumulative effect with the "
                                                         "sequential (mSPRT) boundary", look_labels=labels,
                                                         effect_label=f"difference in {metric_label}")
    return out


RESULT_COLUMNS = ("comparison", "quantity", "value")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def result_rows(result: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The snapshot as (comparison, quantity, value) rows for the results CSV: the unit of analysis,
    participant counts, observed ICC, effective sample size, the interim rule and every estimate."""
    rows: list[tuple[str, str, str]] = [
        ("", "unit of analysis", result.get("unit_of_analysis") or "session (snapshot from before participant-level "
                                                                   "analysis)"),
        ("", "design", result.get("design", "between")),
        ("", "participants", _fmt(result.get("n_participants"))),
        ("", "sessions", _fmt(result.get("n_sessions"))),
        ("", "planned participants", _fmt(result.get("planned_participants"))),
        ("", "assumed ICC", _fmt(result.get("assumed_icc"))),
        ("", "status", "interim, not a verdict" if result.get("interim") else "at or after the planned sample size"),
        ("", "headline", result.get("verdict", "")),
    ]
    icc = result.get("icc") or {}
    observed = _fmt(icc.get("icc")) if icc.get("identified", True) else "not estimable (one session per participant)"
    rows += [("", "observed ICC", observed), ("", "design effect (observed)", _fmt(icc.get("design_effect"))),
             ("", "effective sample size", _fmt(icc.get("effective_n")))]
    for v in result.get("variants", []):
        rows += [(v["name"], "participants", _fmt(v.get("participants"))), (v["name"], "sessions", _fmt(v.get("sessions"))),
                 (v["name"], "participants with an outcome", _fmt(v.get("participants_with_outcome")))]
    for comp in result.get("comparisons", []):
        label = f"{comp['variant']} vs {comp['control']}"
        primary = comp["primary"]
        for key, name in (("difference", "per protocol, clustered difference"), ("cuped", "CUPED"),
                          ("bootstrap", "participant bootstrap")):
            r = primary.get(key)
            if r:
                rows += [(label, f"{name}: effect", _fmt(r.get("effect"))),
                         (label, f"{name}: interval", f"{_fmt(r.get('ci_low'))} to {_fmt(r.get('ci_high'))}")]
                if r.get("p_value") is not None:
                    rows.append((label, f"{name}: p", _p_text(r["p_value"]).lstrip("= ")))
        itt = comp.get("itt") or {}
        if itt and not itt.get("error"):
            rows += [(label, "intention to treat: effect", _fmt(itt.get("effect"))),
                     (label, "intention to treat: p", _p_text(itt["p_value"]).lstrip("= ")),
                     (label, "intention to treat: definition", itt.get("definition", ""))]
        att = comp.get("attrition") or {}
        rows.append((label, "differential attrition flag", _fmt(bool(att.get("flag")))))
        seq = comp.get("sequential") or {}
        if seq.get("p_value") is not None:
            rows += [(label, "always-valid mSPRT: p", _p_text(seq["p_value"]).lstrip("= ")),
                     (label, "always-valid mSPRT: decision", seq.get("decision", ""))]
    for comp in result.get("crossover") or []:
        label = f"{comp['variant']} vs {comp['control']} (within participant)"
        if comp.get("error"):
            rows.append((label, "error", comp["error"]))
        else:
            rows += [(label, "paired effect", _fmt(comp["effect"])), (label, "p", _p_text(comp["p_value"]).lstrip("= ")),
                     (label, "period effect", _fmt(comp["period_effect"])), (label, "participants", _fmt(comp["participants"]))]
    return rows
