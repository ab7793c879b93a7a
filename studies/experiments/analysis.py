"""The analysis of one experiment, from session outcomes to a JSON-ready snapshot.

Pure orchestration: no Django imports. It takes the experiment's design (a dataclass), the
outcomes of the exposed sessions (studies.listening.selectors.SessionOutcome or anything with
the same attributes) and which variant each session was exposed to, and calls studies/stats.py
for every number and studies/plots.py for every picture. Nothing statistical is computed here.

Per treatment variant (each against the control):
- primary metric: per-variant summary, Welch's t-test, Mann–Whitney U, bootstrap interval of
  the difference, Hedges' g, CUPED with the pre-session state as covariate, the verdict;
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

from studies import plots, stats

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


def _attempt(fn, *args, **kwargs) -> tuple[Any, str | None]:
    try:
        return fn(*args, **kwargs), None
    except ValueError as exc:  # stats.InsufficientDataError included: the message says what is missing
        return None, str(exc)


def _values(outcomes: Sequence[Any], metric: str) -> np.ndarray:
    return np.asarray([getattr(o, metric) for o in outcomes if getattr(o, metric) is not None], dtype=np.float64)


def _paired(outcomes: Sequence[Any], metric: str, covariate: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [(getattr(o, metric), getattr(o, covariate)) for o in outcomes
            if getattr(o, metric) is not None and getattr(o, covariate) is not None]
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _timed(outcomes: Sequence[Any], metric: str) -> tuple[np.ndarray, np.ndarray]:
    rows = sorted(((o.created_at.timestamp(), float(getattr(o, metric))) for o in outcomes
                   if getattr(o, metric) is not None), key=lambda r: r[0])
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


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


def _sequential(t_times, t_vals, c_times, c_vals, *, design: Design):
    look_times, labels = look_schedule(np.concatenate([t_times, c_times]), max_looks=design.max_looks)
    counts = [stats.looks_from_times(t_times, c_times, [lt], min_per_arm=2) for lt in look_times]
    kept = [(c[0], label) for c, label in zip(counts, labels, strict=True) if c]
    if not kept:
        raise stats.InsufficientDataError("no look has two outcomes in each arm yet")
    looks = [k[0] for k in kept]
    result = stats.msprt(t_vals, c_vals, looks=looks, tau=design.mde, alpha=design.alpha)
    return result, [k[1] for k in kept]


def _effect_row(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"method": result.method, "effect": result.effect, "ci_low": result.ci_low, "ci_high": result.ci_high,
            "confidence": result.confidence, "p_value": result.p_value}


def _compare_primary(treat: Sequence[Any], ctrl: Sequence[Any], *, design: Design, label: str) -> tuple[dict, Any]:
    metric = design.primary_metric
    x, y = _values(treat, metric), _values(ctrl, metric)
    out: dict[str, Any] = {"errors": {}}
    welch, err = _attempt(stats.welch_t_test, x, y, confidence=1 - design.alpha)
    out["welch"], out["errors"]["welch"] = _clean(welch), err
    mwu, err = _attempt(stats.mann_whitney_u, x, y)
    out["mann_whitney"], out["errors"]["mann_whitney"] = _clean(mwu), err
    boot, err = _attempt(stats.bootstrap_mean_diff, x, y, confidence=1 - design.alpha,
                         n_resamples=design.bootstrap_resamples, seed=design.experiment_id)
    out["bootstrap"], out["errors"]["bootstrap"] = _clean(boot), err
    g, err = _attempt(stats.hedges_g, x, y, confidence=1 - design.alpha)
    out["hedges_g"], out["errors"]["hedges_g"] = _clean(g), err
    yx, xx = _paired(treat, metric, COVARIATE[metric])
    yc, xc = _paired(ctrl, metric, COVARIATE[metric])
    cuped, err = _attempt(stats.cuped_test, yx, yc, xx, xc, confidence=1 - design.alpha)
    out["cuped"] = None if cuped is None else {**_effect_row(cuped), "theta": cuped.theta,
                                                "variance_reduction": cuped.variance_reduction,
                                                "unadjusted_effect": cuped.unadjusted_effect,
                                                "covariate": COVARIATE[metric]}
    out["errors"]["cuped"] = err
    out["verdict"] = None
    if welch is not None:
        v = stats.verdict(welch, alpha=design.alpha, effect_label=label)
        out["verdict"] = {**_clean(v), "sentence": v.sentence}
    return _clean(out), welch


def _compare_secondary(treat: Sequence[Any], ctrl: Sequence[Any], *, design: Design) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for metric in design.secondary_metrics:
        if metric == "completion_rate":
            res, err = _attempt(stats.two_proportion_z_test, sum(o.completed for o in treat), len(treat),
                                sum(o.completed for o in ctrl), len(ctrl), confidence=1 - design.alpha)
        else:
            res, err = _attempt(stats.welch_t_test, _values(treat, metric), _values(ctrl, metric),
                                confidence=1 - design.alpha)
        rows.append({"metric": metric, "label": METRIC_LABELS[metric], **(_effect_row(res) or {}), "error": err})
    tested = {r["metric"]: r["p_value"] for r in rows if r.get("p_value") is not None}
    if tested:
        adjusted = stats.holm(tested, alpha=design.alpha)
        for r in rows:
            if r["metric"] in tested:
                a = adjusted[r["metric"]]
                r["p_holm"], r["reject"] = a.adjusted, a.reject
    return _clean(rows)


def analyse(*, design: Design, outcomes: Sequence[Any], variant_of: Mapping[int, int],
            participants: Mapping[int, int] | None = None, with_plots: bool = True) -> dict[str, Any]:
    """The whole analysis as a JSON-ready dict (see the module docstring)."""
    by_variant: dict[int, list[Any]] = {v.id: [] for v in design.variants}
    for o in outcomes:
        vid = variant_of.get(o.session_id)
        if vid in by_variant:
            by_variant[vid].append(o)
    metric = design.primary_metric
    metric_label = METRIC_LABELS[metric]
    participants = dict(participants or {})
    result: dict[str, Any] = {"schema": SCHEMA, "primary_metric": metric, "metric_label": metric_label,
                              "alpha": design.alpha, "mde": design.mde, "n_sessions": sum(map(len, by_variant.values())),
                              "variants": [], "comparisons": [], "notes": []}
    for v in design.variants:
        rows = by_variant[v.id]
        summary, err = _attempt(stats.summarize, _values(rows, metric), name=v.name, confidence=1 - design.alpha)
        result["variants"].append(_clean({
            "id": v.id, "name": v.name, "strategy": v.strategy, "weight": v.weight, "is_control": v.is_control,
            "sessions": len(rows), "participants": participants.get(v.id, len({o.participant_code for o in rows})),
            "completed": sum(o.completed for o in rows), "summary": summary, "summary_error": err}))

    counts = [r["participants"] for r in result["variants"]]
    srm, err = _attempt(stats.sample_ratio_mismatch, counts, [v.weight for v in design.variants])
    result["srm"] = {**_clean(srm), "status": srm.status} if srm is not None else {"error": err, "mismatch": False}

    control = design.control
    sequential_paths: dict[str, stats.SequentialResult] = {}
    look_labels: list[str] | None = None
    forest: list[plots.IntervalRow] = []
    if control is None:
        result["notes"].append("No control variant: nothing to compare.")
    for v in design.variants:
        if control is None or v.id == control.id:
            continue
        label = f"{metric_label}: {v.name} − {control.name}"
        treat, ctrl = by_variant[v.id], by_variant[control.id]
        primary, welch = _compare_primary(treat, ctrl, design=design, label=label)
        t_times, t_vals = _timed(treat, metric)
        c_times, c_vals = _timed(ctrl, metric)
        seq_result, seq_err = _attempt(_sequential, t_times, t_vals, c_times, c_vals, design=design)
        sequential: dict[str, Any] = {"error": seq_err}
        if seq_result is not None:
            seq, labels = seq_result
            sequential_paths[v.name] = seq
            look_labels = labels if look_labels is None or len(labels) > len(look_labels) else look_labels
            decision = (f"reject H0 at α = {design.alpha:g}" if seq.rejected
                        else f"not enough evidence to reject H0 at α = {design.alpha:g}")
            sequential = _clean({"method": seq.method, "p_value": seq.p_value, "ci_low": seq.ci_low,
                                 "ci_high": seq.ci_high, "effect": seq.effect, "rejected": seq.rejected,
                                 "first_rejection": labels[seq.first_rejection] if seq.rejected else None,
                                 "looks": len(seq.looks), "tau": seq.tau, "decision": decision, "error": None})
        rows = [("Welch", primary.get("welch")), ("bootstrap", primary.get("bootstrap")),
                ("CUPED", primary.get("cuped")), ("always-valid (mSPRT)", sequential if seq_result else None)]
        for name, row in rows:
            if row and row.get("ci_low") is not None and row["ci_low"] <= row["effect"] <= row["ci_high"]:
                forest.append(plots.IntervalRow(f"{v.name}: {name}", row["effect"], row["ci_low"], row["ci_high"]))
        result["comparisons"].append({"variant_id": v.id, "variant": v.name, "control": control.name, "label": label,
                                      "primary": primary, "sequential": sequential,
                                      "secondary": _compare_secondary(treat, ctrl, design=design)})

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
            parts.append(verdict["sentence"])
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
        labels = look_labels if len(sequential_paths) == 1 else None
        out["cumulative"] = plots.cumulative_effect_plot(sequential_paths, title="Cumulative effect with the "
                                                         "sequential (mSPRT) boundary", look_labels=labels,
                                                         effect_label=f"difference in {metric_label}")
    return out
