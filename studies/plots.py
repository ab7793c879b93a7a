"""Pictures for experiments and sessions as inline SVG strings. Pure: matplotlib, numpy, no Django.

Each function returns one ``<svg>`` element ready to drop into a template (no XML prolog), with
``role="img"``, an ``aria-labelledby`` pointing at a ``<title>`` (the plot's title) and a
``<desc>`` (a text summary of the numbers, for screen readers and for people who would rather
read). Text stays text (``svg.fonttype = "none"``), so titles are searchable and selectable.

Every data series carries an SVG id ``series-<slug>`` (one per variant or per session path), so
pages can style or test them. Figures are built with ``matplotlib.figure.Figure`` directly and
never through pyplot: no global backend or figure registry is touched, so the functions are safe
in web workers and Celery tasks. Output is deterministic for the same input (no date metadata,
ids salted by the title), which lets a results page cache it.

- :func:`distribution_plot`: per-variant outcome distribution (box, jittered points, mean ± CI).
- :func:`forest_plot`: effects with their intervals against a reference line.
- :func:`cumulative_effect_plot`: the running effect per variant over the looks of an mSPRT, with
  the always-valid confidence sequence and the rejection boundary.
- :func:`mood_path_plot`: session mood paths in the valence/arousal plane (pre, trace, post).
- :func:`power_curve_plot`: power against sample size for the experiment form, planned n marked.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from emotion.vocab import GEMS_INFO
from studies.stats.hypothesis import summarize
from studies.stats.power import SampleSizePlan, power_two_sample
from studies.stats.sequential import SequentialResult

# Okabe & Ito (2008) colour-blind-safe palette, black last
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MAX_POINTS = 400  # per variant in the strip; the box and summary use every value

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """Lower-case ASCII id fragment for a series name ("Random (control)" -> "random-control")."""
    s = _SLUG_RE.sub("-", str(name).lower()).strip("-")
    return s or "series"


def _series_ids(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for name in names:
        base = slug(name)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _check_title(title: str) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValueError("every plot needs a non-empty title (it is the picture's accessible name)")
    return title.strip()


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _to_svg(fig: Figure, *, title: str, desc: str) -> str:
    key = hashlib.sha256(f"{title}\n{desc}".encode()).hexdigest()[:10]
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    raw = buf.getvalue()
    start = raw.index("<svg")
    head_end = raw.index(">", start)
    svg_id = f"plot-{key}"
    head = raw[start:head_end]
    head += (f' id="{svg_id}" role="img" aria-labelledby="{svg_id}-title {svg_id}-desc"'
             ' style="max-width:100%;height:auto"')
    accessible = (f'<title id="{svg_id}-title">{escape(title)}</title>'
                  f'<desc id="{svg_id}-desc">{escape(desc)}</desc>')
    return head + ">" + accessible + raw[head_end + 1:]


def _errorbar(ax, x: float, y: float, low: float, high: float, *, gid: str, part_gid: str, **kwargs) -> None:
    """A point with a horizontal interval; the point gets ``gid``, bar and caps ``part_gid``-interval/-cap-j."""
    container = ax.errorbar([x], [y], xerr=[[x - low], [high - x]], **kwargs)
    data_line, caplines, barlinecols = container.lines
    data_line.set_gid(gid)
    for j, artist in enumerate(barlinecols):
        artist.set_gid(f"{part_gid}-interval-{j}")
    for j, artist in enumerate(caplines):
        artist.set_gid(f"{part_gid}-cap-{j}")


def _new_figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


# ---------------------------------------------------------------------------------------------
# distribution per variant


def distribution_plot(groups: Mapping[str, Sequence[float]] | Sequence[tuple[str, Sequence[float]]], *,
                      title: str, value_label: str = "outcome", confidence: float = 0.95, seed: int = 0) -> str:
    """Horizontal strip + box per variant, with the mean and its t interval; one series per variant."""
    title = _check_title(title)
    items = list(groups.items()) if isinstance(groups, Mapping) else list(groups)
    if not items:
        raise ValueError("no variants to plot")
    names = [str(name) for name, _ in items]
    values = [np.asarray(v, dtype=np.float64).reshape(-1) for _, v in items]
    for name, v in zip(names, values, strict=True):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"variant {name!r} has NaN or infinite values")
    ids = _series_ids(names)
    rng = np.random.default_rng(seed)
    fig, ax = _new_figure(7.0, 1.2 + 0.8 * len(items))
    lines = []
    positions = np.arange(len(items))[::-1]
    for i, (name, v, sid, y) in enumerate(zip(names, values, ids, positions, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        shown = v if v.size <= MAX_POINTS else rng.choice(v, MAX_POINTS, replace=False)
        jitter = rng.uniform(-0.18, 0.18, shown.size)
        ax.scatter(shown, y + jitter, s=10, color=color, alpha=0.45, linewidths=0, gid=f"series-{sid}",
                   label=name)
        if v.size >= 1:
            ax.boxplot([v], positions=[y], orientation="horizontal", widths=0.5, showfliers=False, manage_ticks=False,
                       medianprops={"color": color, "linewidth": 2}, boxprops={"color": "#444444"},
                       whiskerprops={"color": "#444444"}, capprops={"color": "#444444"})
        if v.size >= 2:
            s = summarize(v, name=name, confidence=confidence)
            _errorbar(ax, s.mean, y + 0.32, s.ci_low, s.ci_high, gid=f"summary-{sid}", part_gid=f"summary-{sid}", fmt="D", color="black",
                      markersize=5, capsize=3)
            lines.append(f"{name}: n = {s.n}, mean {_fmt(s.mean)} ({confidence:.0%} CI {_fmt(s.ci_low)} to "
                         f"{_fmt(s.ci_high)}), median {_fmt(float(np.median(v)))}, sd {_fmt(s.sd)}"
                         + (f"; {MAX_POINTS} of {v.size} points drawn" if v.size > MAX_POINTS else ""))
        elif v.size == 1:
            lines.append(f"{name}: n = 1, value {_fmt(float(v[0]))}")
        else:
            lines.append(f"{name}: no outcomes yet")
    ax.set_yticks(positions, [f"{n}\n(n = {v.size})" for n, v in zip(names, values, strict=True)])
    ax.set_ylim(-0.7, len(items) - 0.3)
    ax.set_xlabel(value_label)
    ax.set_title(title, loc="left", fontsize=12)
    desc = f"Distribution of {value_label} per variant. Diamond: mean with {confidence:.0%} interval. " + "; ".join(
        lines) + "."
    return _to_svg(fig, title=title, desc=desc)


# ---------------------------------------------------------------------------------------------
# forest plot


@dataclass(frozen=True)
class IntervalRow:
    label: str
    effect: float
    ci_low: float
    ci_high: float


def forest_plot(rows: Sequence[IntervalRow], *, title: str, effect_label: str = "difference vs control",
                reference: float = 0.0, confidence: float = 0.95) -> str:
    """Point estimates with interval bars against a reference line; one series per row."""
    title = _check_title(title)
    if not rows:
        raise ValueError("no effects to plot")
    for r in rows:
        if not all(np.isfinite([r.effect, r.ci_low, r.ci_high])):
            raise ValueError(f"row {r.label!r} has a non-finite effect or interval")
        if not r.ci_low <= r.effect <= r.ci_high:
            raise ValueError(f"row {r.label!r}: the effect lies outside its interval")
    ids = _series_ids([r.label for r in rows])
    fig, ax = _new_figure(7.0, 1.2 + 0.55 * len(rows))
    positions = np.arange(len(rows))[::-1]
    lines = []
    for i, (r, sid, y) in enumerate(zip(rows, ids, positions, strict=True)):
        excludes = not r.ci_low <= reference <= r.ci_high
        color = PALETTE[i % len(PALETTE)]
        _errorbar(ax, r.effect, y, r.ci_low, r.ci_high, gid=f"series-{sid}", part_gid=sid, fmt="s" if excludes else "o",
                  color=color, markersize=7, capsize=4, linewidth=2)
        side = "excludes" if excludes else "includes"
        lines.append(f"{r.label}: {_fmt(r.effect)} ({confidence:.0%} CI {_fmt(r.ci_low)} to {_fmt(r.ci_high)}), "
                     f"interval {side} {_fmt(reference)}")
    ax.axvline(reference, color="#555555", linestyle="--", linewidth=1)
    ax.set_yticks(positions, [r.label for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(effect_label)
    ax.set_title(title, loc="left", fontsize=12)
    desc = (f"{effect_label} with {confidence:.0%} intervals; dashed line at {_fmt(reference)}; square markers "
            "mark intervals that exclude it. " + "; ".join(lines) + ".")
    return _to_svg(fig, title=title, desc=desc)


# ---------------------------------------------------------------------------------------------
# cumulative effect over time with the sequential boundary


def cumulative_effect_plot(paths: Mapping[str, SequentialResult], *, title: str,
                           look_labels: Sequence[str] | None = None, effect_label: str = "difference vs control") -> str:
    """Running estimate per variant across looks, its always-valid interval (band) and the ± boundary
    the estimate must cross to reject (dashed). One series (the estimate line) per variant."""
    title = _check_title(title)
    if not paths:
        raise ValueError("no sequential results to plot")
    names = list(paths)
    n_looks = {len(paths[n].looks) for n in names}
    if look_labels is not None and any(len(look_labels) < k for k in n_looks):
        raise ValueError("need one look label per look")
    ids = _series_ids(names)
    fig, ax = _new_figure(7.5, 4.2)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    lines = []
    for i, (name, sid) in enumerate(zip(names, ids, strict=True)):
        res = paths[name]
        color = PALETTE[i % len(PALETTE)]
        x = np.arange(len(res.looks))
        est = np.array([lk.estimate for lk in res.looks])
        lo = np.array([lk.ci_low for lk in res.looks])
        hi = np.array([lk.ci_high for lk in res.looks])
        bound = np.array([lk.boundary for lk in res.looks])
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0, gid=f"band-{sid}")
        ax.plot(x, res.theta0 + bound, color=color, linestyle=":", linewidth=1, gid=f"boundary-{sid}")
        ax.plot(x, res.theta0 - bound, color=color, linestyle=":", linewidth=1)
        ax.plot(x, est, color=color, marker="o", markersize=3, linewidth=1.8, gid=f"series-{sid}", label=name)
        if res.first_rejection is not None:
            k = res.first_rejection
            ax.plot([k], [est[k]], marker="*", markersize=14, color=color, markeredgecolor="black",
                    linestyle="none", gid=f"rejection-{sid}")
            when = look_labels[k] if look_labels is not None else f"look {k + 1}"
            decided = f"crossed the boundary at {when} (always-valid p ≤ {res.alpha:g})"
        else:
            decided = f"has not crossed the boundary (always-valid p = {_fmt(res.p_value)})"
        last = res.looks[-1]
        lines.append(f"{name}: latest estimate {_fmt(last.estimate)} after {last.n_treatment} vs {last.n_control} "
                     f"sessions, always-valid {res.confidence:.0%} interval {_fmt(last.ci_low)} to "
                     f"{_fmt(last.ci_high)}; {decided}")
    ax.axhline(next(iter(paths.values())).theta0, color="#555555", linewidth=1)
    longest = max(n_looks)
    if look_labels is not None:
        step = max(1, longest // 10)
        ticks = list(range(0, longest, step))
        ax.set_xticks(ticks, [look_labels[t] for t in ticks], rotation=30, ha="right")
    else:
        ax.set_xlabel("look")
        ax.set_xticks(range(0, longest, max(1, longest // 10)),
                      [str(t + 1) for t in range(0, longest, max(1, longest // 10))])
    ax.set_ylabel(effect_label)
    ax.set_title(title, loc="left", fontsize=12)
    if len(names) > 1:
        ax.legend(frameon=False, fontsize=9)
    desc = ("Cumulative effect at each look with the always-valid confidence sequence (shaded) and the mSPRT "
            "rejection boundary (dotted): crossing it rejects H0 even when looking every day. " + "; ".join(lines) + ".")
    return _to_svg(fig, title=title, desc=desc)


# ---------------------------------------------------------------------------------------------
# mood path in the valence/arousal plane


@dataclass(frozen=True)
class MoodPath:
    label: str
    pre: tuple[float, float]  # (valence, arousal) stated before the session
    post: tuple[float, float] | None = None  # stated after; None if the session was not finished
    trace: np.ndarray | None = None  # (k, 2) per-second webcam aggregates in time order, optional
    target: tuple[float, float] | None = None  # desired state, optional


def _va(point, what: str) -> np.ndarray:
    arr = np.asarray(point, dtype=np.float64)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > 1.0 + 1e-9):
        raise ValueError(f"{what} must be a (valence, arousal) pair within [-1, 1]")
    return arr


def _(message: str) -> str:
    """Marks a participant-facing word of the mood-path picture for `makemessages`; the caller
    passes `translate` (django's gettext) to show it in the page's language."""
    return message


def mood_path_plot(paths: Sequence[MoodPath], *, title: str, translate: Callable[[str], str] | None = None) -> str:
    """Each session's mood path on Russell's circumplex: pre (circle) → trace → post (square), with the
    target (star). GEMS categories are drawn faintly at their positions from emotion.vocab. Its
    words (axes, GEMS names, the description) go through `translate` when given."""
    say = translate or (lambda message: message)
    title = _check_title(title)
    if not paths:
        raise ValueError("no mood paths to plot")
    ids = _series_ids([p.label for p in paths])
    fig = Figure(figsize=(5.6, 5.6), dpi=100)
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.axhline(0, color="#cccccc", linewidth=0.8)
    ax.axvline(0, color="#cccccc", linewidth=0.8)
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(theta), np.sin(theta), color="#e0e0e0", linewidth=0.8)
    for info in GEMS_INFO:
        ax.text(info.valence, info.arousal, say(info.label), fontsize=7, color="#8a8a8a", ha="center", va="center")
    lines = []
    for i, (p, sid) in enumerate(zip(paths, ids, strict=True)):
        color = PALETTE[i % len(PALETTE)]
        pre = _va(p.pre, f"{p.label}: pre")
        pts = [pre]
        if p.trace is not None:
            tr = np.asarray(p.trace, dtype=np.float64)
            if tr.ndim != 2 or tr.shape[1] != 2 or not np.all(np.isfinite(tr)) or np.any(np.abs(tr) > 1.0 + 1e-9):
                raise ValueError(f"{p.label}: trace must be a (k, 2) array of (valence, arousal) within [-1, 1]")
            pts.extend(tr)
        post = _va(p.post, f"{p.label}: post") if p.post is not None else None
        if post is not None:
            pts.append(post)
        path = np.vstack(pts)
        ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1.4, alpha=0.85, gid=f"series-{sid}",
                label=p.label)
        ax.plot([pre[0]], [pre[1]], marker="o", markersize=8, color=color, markeredgecolor="black",
                linestyle="none")
        text = say(_("%(label)s: before (%(valence)s, %(arousal)s)")) % {
            "label": p.label, "valence": _fmt(pre[0]), "arousal": _fmt(pre[1])}
        if p.trace is not None:
            text += say(_(", %(count)s webcam readings")) % {"count": len(p.trace)}
        if post is not None:  # above the target star (zorder), so a goal reached still shows the end
            ax.plot([post[0]], [post[1]], marker="s", markersize=8, color=color, markeredgecolor="black",
                    linestyle="none", zorder=4, gid=f"post-{sid}")
            text += say(_(", after (%(valence)s, %(arousal)s)")) % {"valence": _fmt(post[0]), "arousal": _fmt(post[1])}
        else:
            text += say(_(", not finished"))
        if p.target is not None:
            tgt = _va(p.target, f"{p.label}: target")
            ax.plot([tgt[0]], [tgt[1]], marker="*", markersize=14, color=color, markeredgecolor="black",
                    linestyle="none", zorder=3, alpha=0.75, gid=f"target-{sid}")
            text += say(_(", target (%(valence)s, %(arousal)s)")) % {"valence": _fmt(tgt[0]), "arousal": _fmt(tgt[1])}
            if post is not None:
                moved = float(np.linalg.norm(pre - tgt) - np.linalg.norm(post - tgt))
                closer = _(", moved %(distance)s closer to the target")
                away = _(", moved %(distance)s away from the target")
                text += say(closer if moved >= 0 else away) % {"distance": _fmt(moved)}
        lines.append(text)
    ax.set_xlabel(say(_("valence (unpleasant → pleasant)")))
    ax.set_ylabel(say(_("arousal (calm → energetic)")))
    ax.set_title(title, loc="left", fontsize=12)
    if len(paths) > 1:
        ax.legend(frameon=False, fontsize=8, loc="lower left")
    desc = (say(_("Mood in the valence/arousal plane: circle = before, line = webcam trace, square = after, "
                 "star = target.")) + " " + "; ".join(lines) + ".")
    return _to_svg(fig, title=title, desc=desc)


# ---------------------------------------------------------------------------------------------
# power curve for the experiment form


def power_curve_plot(plan: SampleSizePlan, *, title: str, effect_sizes: Sequence[float] = ()) -> str:
    """Power of the two-sample t-test against participants in the control arm, at the plan's effect
    size (and optionally others), with the planned n and target power marked. One series per effect."""
    title = _check_title(title)
    ratio = plan.n_treatment / plan.n_control
    sizes = [plan.effect_size, *[float(d) for d in effect_sizes if float(d) != plan.effect_size]]
    if any(not np.isfinite(d) or d <= 0 for d in sizes):
        raise ValueError("effect sizes must be positive numbers (in sd units)")
    n_max = max(3 * plan.n_control, 20)
    grid = np.unique(np.linspace(max(2.0, 2.0 / ratio), n_max, 120).round())
    fig, ax = _new_figure(7.0, 4.0)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    names = [f"d = {d:g}" for d in sizes]
    lines = []
    for i, (d, name, sid) in enumerate(zip(sizes, names, _series_ids(names), strict=True)):
        power = [power_two_sample(effect_size=d, n_control=n, ratio=ratio, alpha=plan.alpha) for n in grid]
        ax.plot(grid, power, color=PALETTE[i % len(PALETTE)], linewidth=2 if i == 0 else 1.3, gid=f"series-{sid}",
                label=name)
        at_plan = power_two_sample(effect_size=d, n_control=plan.n_control, ratio=ratio, alpha=plan.alpha)
        lines.append(f"{name}: power {at_plan:.0%} at the planned size")
    ax.axhline(plan.power, color="#555555", linestyle="--", linewidth=1)
    ax.axvline(plan.n_control, color="#555555", linestyle=":", linewidth=1)
    ax.plot([plan.n_control], [plan.achieved_power], marker="o", color="black", linestyle="none", gid="planned")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("participants in the control arm" + (f" (treatment arm: {ratio:g} ×)" if ratio != 1 else ""))
    ax.set_ylabel("power")
    ax.set_title(title, loc="left", fontsize=12)
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    desc = (f"Power of the two-sided two-sample t-test at α = {plan.alpha:g}. The plan needs {plan.n_control} "
            f"control and {plan.n_treatment} treatment participants ({plan.total} in total) for "
            f"{plan.power:.0%} power at effect size {plan.effect_size:g} sd (achieved {plan.achieved_power:.1%}). "
            + "; ".join(lines) + ".")
    return _to_svg(fig, title=title, desc=desc)


__all__ = [
    "IntervalRow",
    "MoodPath",
    "cumulative_effect_plot",
    "distribution_plot",
    "forest_plot",
    "mood_path_plot",
    "power_curve_plot",
    "slug",
]
