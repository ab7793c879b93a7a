"""The analysis of one experiment, from session outcomes to a JSON-ready snapshot.

Pure orchestration: no Django imports. It takes the experiment's design (a dataclass), the
outcomes of the exposed sessions (studies.listening.selectors.SessionOutcome or anything with
the same attributes) and which variant each session was exposed to, gathers each variant's arrays
(studies.stats.ArmData) and calls ``studies.stats.analyze_experiment`` for every number and
studies/plots.py for every picture. Nothing statistical is computed here; what this module
decides is which session values feed which array, the CUPED covariate per metric and the look
schedule.

Per treatment variant (each against the control):
- primary metric: per-variant summary, Welch's t-test, Mann–Whitney U, bootstrap interval of
  the difference, Hedges' g, CUPED with the pre-session state as covariate (the primary test
  when every session has the covariate, as analyze_experiment decides), the verdict;
- sequential monitoring: mSPRT always-valid p-value and confidence sequence over the looks
  (end of each day when the data span three days or more, otherwise evenly spaced looks in
  arrival order; τ = the experiment's minimum detectable effect);
- secondary metrics: completion rate (two-proportion test), skip rate and reflection rating
  (Welch), Holm-adjusted across the secondary metrics;
and once per experiment: the sample-ratio-mismatch check on participants per variant.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from studies import instruments, plots, stats

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
SCHEMA = 1


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

    @classmethod
    def of(cls, experiment: Any, *, bootstrap_resamples: int = 4000, max_looks: int = 20) -> Design:
        variants = tuple(VariantDesign(id=v.pk, name=v.name, strategy=v.strategy, weight=float(v.weight),
                                       is_control=bool(v.is_control)) for v in experiment.variants.all())
        return cls(experiment_id=experiment.pk, name=experiment.name, primary_metric=experiment.primary_metric,
                   secondary_metrics=tuple(experiment.secondary_metrics or ()), alpha=float(experiment.alpha),
                   mde=float(experiment.minimum_detectable_effect), variants=variants,
                   bootstrap_resamples=bootstrap_resamples, max_looks=max_looks)

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


def look_schedule(times: np.ndarray, *, max_looks: int) -> tuple[list[float], list[str]]:
    """Look times and labels: the end of each UTC day when the data span three days or more,
    otherwise up to ``max_looks`` looks evenly spaced in arrival order."""
    if times.size == 0:
        return [], []
    days = sorted({datetime.fromtimestamp(t, tz=UTC).date() for t in times})
    if len(days) >= 3:
        ends = [datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp() - 1e-6
                for d in days]
        return ends, [d.isoformat() for d in days]
    ordered = np.sort(times)
    k = int(min(max_looks, ordered.size))
    idx = np.unique(np.ceil(np.linspace(ordered.size / k, ordered.size, k)).astype(int) - 1)
    return [float(ordered[i]) for i in idx], [f"{i + 1} sessions" for i in idx]


def _metric_rows(outcomes: Sequence[Any], metric: str) -> list[Any]:
    """Sessions that have a value of the metric, in arrival order."""
    return sorted((o for o in outcomes if getattr(o, metric) is not None), key=lambda o: (o.created_at, o.session_id))


def _arm_data(v: VariantDesign, rows: Sequence[Any], *, design: Design, participants: int) -> stats.ArmData:
    metric = design.primary_metric
    measured = _metric_rows(rows, metric)
    covariates = [getattr(o, COVARIATE[metric]) for o in measured]
    secondary = {}
    for name in design.secondary_metrics:
        if name != "completion_rate":
            secondary[METRIC_LABELS[name]] = np.asarray([getattr(o, name) for o in _metric_rows(rows, name)],
                                                        dtype=np.float64)
    with_completion = "completion_rate" in design.secondary_metrics
    return stats.ArmData(
        name=v.name, weight=v.weight, exposures=participants,
        outcomes=np.asarray([getattr(o, metric) for o in measured], dtype=np.float64),
        covariates=None if any(c is None for c in covariates) else np.asarray(covariates, dtype=np.float64),
        sessions=len(rows) if with_completion else 0,
        completed=sum(o.completed for o in rows) if with_completion else 0,
        secondary=secondary,
        times=np.asarray([o.created_at.timestamp() for o in measured], dtype=np.float64))


_METHOD_NOTES = {"welch": "Welch t-test", "cuped": "CUPED", "mann_whitney": "Mann–Whitney U", "bootstrap": "bootstrap",
                 "hedges_g": "Hedges' g", "sequential": "sequential test"}
_LABEL_TO_METRIC = {label: key for key, label in METRIC_LABELS.items()}


def _errors(notes: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = dict.fromkeys(_METHOD_NOTES)
    for note in notes:
        for key, prefix in _METHOD_NOTES.items():
            if note.startswith(prefix + ":"):
                out[key] = note[len(prefix) + 1:].strip()
    return out


def _comparison_json(comp: stats.Comparison, *, design: Design, variant: VariantDesign, control: VariantDesign,
                     look_labels: Sequence[str], label: str) -> dict[str, Any]:
    errors = _errors(comp.notes)
    cuped = None
    if comp.cuped is not None:
        cuped = {**_effect_row(comp.cuped), "theta": comp.cuped.theta,
                 "variance_reduction": comp.cuped.variance_reduction,
                 "unadjusted_effect": comp.cuped.unadjusted_effect, "covariate": COVARIATE[design.primary_metric]}
    primary = {"method": comp.primary.method if comp.primary is not None else None,
               "welch": comp.welch, "mann_whitney": comp.mann_whitney, "bootstrap": comp.bootstrap,
               "hedges_g": comp.hedges_g, "cuped": cuped, "errors": errors,
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
    result: dict[str, Any] = {"schema": SCHEMA, "primary_metric": metric, "metric_label": metric_label,
                              "alpha": design.alpha, "confidence_label": f"{1 - design.alpha:.0%}",
                              "mde": design.mde, "n_sessions": sum(map(len, by_variant.values())),
                              "variants": [], "comparisons": [], "notes": []}
    control = design.control
    treatments = [v for v in design.variants if control is None or v.id != control.id]
    analysis = None
    look_times: list[float] = []
    look_labels: list[str] = []
    if control is None or not treatments:
        result["notes"].append("An analysis needs a control variant and at least one other variant.")
    else:
        arms = {v.id: _arm_data(v, by_variant[v.id], design=design, participants=counted[v.id])
                for v in design.variants}
        all_times = np.concatenate([a.times for a in arms.values()])
        look_times, look_labels = look_schedule(all_times, max_looks=design.max_looks)
        analysis = stats.analyze_experiment(
            control=arms[control.id], treatments=[arms[v.id] for v in treatments], alpha=design.alpha,
            effect_label=f"{metric_label} (treatment − control)", n_resamples=design.bootstrap_resamples,
            look_times=look_times or None, tau=design.mde, seed=design.experiment_id)
        result["notes"].extend(analysis.notes)

    reports = {r.name: r for r in analysis.arms} if analysis else {}
    for v in design.variants:
        rows = by_variant[v.id]
        report = reports.get(v.name)
        result["variants"].append(_clean({
            "id": v.id, "name": v.name, "strategy": v.strategy, "weight": v.weight, "is_control": v.is_control,
            "sessions": len(rows), "participants": counted[v.id], "completed": sum(o.completed for o in rows),
            "summary": report.summary if report else None,
            "summary_error": None if report and report.summary else "fewer than 2 outcomes so far"}))

    if analysis is not None and analysis.srm is not None:
        result["srm"] = {**_clean(analysis.srm), "status": analysis.srm.status}
    else:
        srm_note = next((n for n in result["notes"] if n.startswith("sample-ratio check")), "no exposures yet")
        result["srm"] = {"error": srm_note, "mismatch": False}

    sequential_paths: dict[str, stats.SequentialResult] = {}
    forest: list[plots.IntervalRow] = []
    if analysis is not None:
        for v, comp in zip(treatments, analysis.comparisons, strict=True):
            label = f"{metric_label}: {v.name} − {control.name}"
            data = _comparison_json(comp, design=design, variant=v, control=control, look_labels=look_labels,
                                    label=label)
            result["comparisons"].append(data)
            if comp.sequential is not None:
                sequential_paths[v.name] = comp.sequential
            rows = [("Welch", comp.welch), ("bootstrap", comp.bootstrap), ("CUPED", comp.cuped),
                    ("always-valid (mSPRT)", comp.sequential)]
            for name, r in rows:
                if r is not None and r.ci_low <= r.effect <= r.ci_high:
                    forest.append(plots.IntervalRow(f"{v.name}: {name}", r.effect, r.ci_low, r.ci_high))

    result["verdict"] = _headline(result)
    result["plots"] = _plots(design, by_variant, forest, sequential_paths, look_labels) if with_plots else {}
    return result


def _headline(result: dict[str, Any]) -> str:
    parts = []
    if result["srm"].get("mismatch"):
        parts.append("Sample ratio mismatch: the split of participants does not match the weights "
                     f"(p = {result['srm']['p_value']:.2g} < 0.001); do not trust the comparison until it is explained.")
    for comp in result["comparisons"]:
        verdict = comp["primary"].get("verdict")
        if verdict is None:
            err = comp["primary"]["errors"].get("welch")
            parts.append(f"{comp['variant']} vs {comp['control']}: not enough data yet ({err}).")
        else:
            parts.append(f"{comp['variant']} vs {comp['control']}: {verdict['sentence']}")
    if not parts:
        parts.append("Nothing to compare yet.")
    return " ".join(parts)


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
