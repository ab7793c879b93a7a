"""The verdict on one estimate and :func:`analyze_experiment`, the whole analysis of one experiment."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from studies.stats._common import EffectEstimate, _check_alpha, _fmt_p
from studies.stats.cluster import (
    ClusterBootstrapResult,
    ClusteredCuped,
    ClusteredEffect,
    IccResult,
    cluster_bootstrap,
    clustered_cuped,
    clustered_difference,
    clustered_proportions,
    observed_icc,
    participant_means,
    participant_rank_test,
)
from studies.stats.hypothesis import (
    BootstrapResult,
    CupedResult,
    HedgesGResult,
    MannWhitneyResult,
    SrmResult,
    VariantSummary,
    WelchResult,
    bootstrap_mean_diff,
    cuped_test,
    hedges_g,
    holm,
    mann_whitney_u,
    sample_ratio_mismatch,
    summarize,
    two_proportion_z_test,
    welch_t_test,
)
from studies.stats.sequential import (
    MSPRT_MIN_PARTICIPANTS_PER_ARM,
    MSPRT_MIN_PER_ARM,
    SequentialResult,
    looks_from_times,
    msprt,
    msprt_clustered,
)

# ---------------------------------------------------------------------------------------------
# verdict


@dataclass(frozen=True)
class Verdict:
    reject: bool
    alpha: float
    decision: str  # "reject H0 at α = 0.05" or "not enough evidence to reject H0 at α = 0.05"
    method: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    effect_label: str

    @property
    def sentence(self) -> str:
        return (f"{self.effect_label} = {self.effect:.3g} ({self.confidence:.0%} CI {self.ci_low:.3g} to "
                f"{self.ci_high:.3g}), {self.method} {_fmt_p(self.p_value)}: {self.decision}.")

    def __str__(self) -> str:
        return self.sentence



def verdict(result: EffectEstimate, *, alpha: float = 0.05, effect_label: str = "difference (treatment − control)",
            adjusted_p_value: float | None = None, adjustment: str = "") -> Verdict:
    """Spell out the decision for a test result that has an effect, an interval and a p-value.

    H0 is rejected when p ≤ α. Pass ``adjusted_p_value`` (and a short ``adjustment`` note such as
    "Holm over 2 treatments") when the decision must use a multiplicity-adjusted p-value.
    """
    alpha = _check_alpha(alpha)
    p = float(result.p_value if adjusted_p_value is None else adjusted_p_value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p-value must lie in [0, 1], got {p}")
    reject = p <= alpha * (1.0 + 1e-9)  # a p exactly at α (or at a Holm boundary) must not flip on rounding
    a = f"{alpha:g}"
    decision = f"reject H0 at α = {a}" if reject else f"not enough evidence to reject H0 at α = {a}"
    method = f"{result.method} ({adjustment})" if adjustment else result.method
    return Verdict(reject=bool(reject), alpha=alpha, decision=decision, method=method,
                   effect=float(result.effect), ci_low=float(result.ci_low), ci_high=float(result.ci_high),
                   confidence=float(result.confidence), p_value=p, effect_label=effect_label)


# ---------------------------------------------------------------------------------------------
# the whole analysis of one experiment, as the results page shows it


@dataclass(frozen=True, eq=False)
class ArmData:
    """One variant's data, gathered by the services layer (arrays in session order).

    ``outcomes`` is the primary metric per analysed session; ``covariates`` (optional) the
    pre-session value used by CUPED, aligned with ``outcomes``; ``sessions``/``completed`` count
    started and completed sessions (completion rate); ``secondary`` maps continuous secondary
    metrics (e.g. "skip rate", "reflection rating") to per-session arrays; ``times`` (optional)
    are the outcome times in the same order, for sequential looks; ``exposures`` is the number
    of participants assigned (for SRM), by default ``len(outcomes)``.

    With ``participants`` (one participant id per outcome) the analysis takes the participant as
    the unit (see :mod:`studies.stats.cluster`); then ``completion`` (0/1 per started session)
    with ``session_participants``, and ``secondary_participants`` per secondary metric, give the
    clustered completion and secondary tests.
    """

    name: str
    outcomes: np.ndarray
    weight: float = 1.0
    exposures: int | None = None
    covariates: np.ndarray | None = None
    sessions: int = 0
    completed: int = 0
    secondary: Mapping[str, np.ndarray] = field(default_factory=dict)
    times: np.ndarray | None = None
    participants: np.ndarray | None = None
    completion: np.ndarray | None = None
    session_participants: np.ndarray | None = None
    secondary_participants: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ArmReport:
    name: str
    exposures: int
    summary: VariantSummary | None  # None when the arm has fewer than 2 outcomes
    completion_rate: float | None  # None when no sessions were started
    participants: int | None = None  # participants with an outcome (participant-level analysis)
    participant_summary: VariantSummary | None = None  # summary of per-participant mean outcomes


@dataclass(frozen=True)
class SecondaryResult:
    name: str
    method: str
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    adjusted_p_value: float  # Holm across this comparison's secondary metrics
    reject: bool


@dataclass(frozen=True)
class Comparison:
    treatment: str
    control: str
    primary: WelchResult | CupedResult | ClusteredEffect | ClusteredCuped | None  # CUPED when covariates exist
    welch: WelchResult | None
    cuped: CupedResult | ClusteredCuped | None
    mann_whitney: MannWhitneyResult | None
    bootstrap: BootstrapResult | ClusterBootstrapResult | None
    hedges_g: HedgesGResult | None
    secondary: tuple[SecondaryResult, ...]
    sequential: SequentialResult | None
    verdict: Verdict | None
    notes: tuple[str, ...]  # what could not be computed, and why
    difference: ClusteredEffect | None = None  # participant-clustered difference in means (CR2)


@dataclass(frozen=True)
class ExperimentAnalysis:
    alpha: float
    control: str
    arms: tuple[ArmReport, ...]
    srm: SrmResult | None
    comparisons: tuple[Comparison, ...]
    notes: tuple[str, ...]
    unit: str = "session"  # "participant" when every arm carries participant ids
    icc: IccResult | None = None  # observed ICC of the primary outcome (participant-level analysis)


T = TypeVar("T")


def _primary_verdicts(primaries: Sequence[EffectEstimate | None], *, alpha: float, effect_label: str) -> list[Any]:
    """Each treatment's verdict on its primary estimate; with several treatments, on p-values
    Holm-adjusted over them (both analysis paths)."""
    present = [(i, r) for i, r in enumerate(primaries) if r is not None]
    adjusted: dict[int, float] = {}
    if len(primaries) > 1 and present:
        h = holm([r.p_value for _, r in present], alpha=alpha)
        adjusted = {i: e.adjusted for (i, _), e in zip(present, h.entries, strict=True)}
    return [
        None if r is None else verdict(r, alpha=alpha, effect_label=effect_label, adjusted_p_value=adjusted.get(i),
                                       adjustment=f"Holm over {len(present)} treatments" if i in adjusted else "")
        for i, r in enumerate(primaries)
    ]


def _holm_secondary(raw: Sequence[tuple[str, EffectEstimate]], *, alpha: float) -> tuple[SecondaryResult, ...]:
    """The secondary metrics' estimates with Holm-adjusted p-values (both analysis paths)."""
    if not raw:
        return ()
    adj = holm({name: r.p_value for name, r in raw}, alpha=alpha)
    return tuple(SecondaryResult(name=name, method=r.method, effect=r.effect, ci_low=r.ci_low, ci_high=r.ci_high,
                                 p_value=r.p_value, adjusted_p_value=adj[name].adjusted, reject=adj[name].reject)
                 for name, r in raw)
_NO_IDS = np.zeros(0, dtype=str)  # a metric without participant ids: the test then says what is missing


def _ids(participants: np.ndarray | None) -> np.ndarray:
    """The participant ids of an arm in the participant-level analysis (present by construction)."""
    if participants is None:
        raise ValueError("participant ids are missing for an arm")
    return participants


def _attempt(notes: list[str], what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:  # InsufficientDataError included: shown on the page instead of a crash
        notes.append(f"{what}: {exc}")
        return None


def analyze_experiment(*, control: ArmData, treatments: Sequence[ArmData], alpha: float = 0.05,
                       effect_label: str = "difference (treatment − control)", n_resamples: int = 10_000,
                       look_times: Sequence[float] | None = None, tau: float | None = None,
                       seed: int = 0) -> ExperimentAnalysis:
    """Every number on an experiment's results page, from the arms' data.

    The primary test per treatment is the CUPED-adjusted Welch test when both arms have
    pre-session covariates and Welch otherwise; Mann–Whitney, the bootstrap interval and
    Hedges' g are reported beside it. With more than one treatment the primary p-values are
    Holm-adjusted across treatments before the verdict. Secondary metrics (completion rate by the
    two-proportion test, continuous ones by Welch) are Holm-adjusted within each comparison. With
    ``look_times`` and ``tau`` and ``times`` on every arm, the mSPRT over those looks is added.
    Anything the data cannot support yet is skipped with a note, never a NaN.
    """
    alpha = _check_alpha(alpha)
    if not treatments:
        raise ValueError("an experiment needs at least one treatment besides the control")
    arms = [control, *treatments]
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ValueError("variant names must be unique")
    for arm in arms:
        if "completion rate" in arm.secondary:
            raise ValueError("'completion rate' is computed from sessions/completed; do not pass it as a secondary array")
    confidence = 1.0 - alpha
    notes: list[str] = []

    reports = []
    for arm in arms:
        outcomes = np.asarray(arm.outcomes, dtype=np.float64)
        summary = _attempt(notes, f"summary of {arm.name}", summarize, outcomes, name=arm.name, confidence=confidence)
        rate = arm.completed / arm.sessions if arm.sessions > 0 else None
        exposures = int(arm.exposures) if arm.exposures is not None else int(outcomes.size)
        reports.append(ArmReport(name=arm.name, exposures=exposures, summary=summary, completion_rate=rate))
    srm = _attempt(notes, "sample-ratio check", sample_ratio_mismatch, [r.exposures for r in reports],
                   [a.weight for a in arms])

    if all(a.participants is not None for a in arms):
        return _analyze_clustered(control=control, treatments=treatments, alpha=alpha, effect_label=effect_label,
                                  n_resamples=n_resamples, look_times=look_times, tau=tau, seed=seed,
                                  reports=reports, srm=srm, notes=notes)

    partial = []
    for arm in treatments:
        cnotes: list[str] = []
        t, c = arm.outcomes, control.outcomes
        welch = _attempt(cnotes, "Welch t-test", welch_t_test, t, c, confidence=confidence)
        cuped = None
        if arm.covariates is not None and control.covariates is not None:
            cuped = _attempt(cnotes, "CUPED", cuped_test, t, c, arm.covariates, control.covariates,
                             confidence=confidence)
        mw = _attempt(cnotes, "Mann–Whitney U", mann_whitney_u, t, c)
        boot = _attempt(cnotes, "bootstrap", bootstrap_mean_diff, t, c, confidence=confidence,
                        n_resamples=n_resamples, seed=seed)
        g = _attempt(cnotes, "Hedges' g", hedges_g, t, c, confidence=confidence)

        secondary_raw: list[tuple[str, EffectEstimate]] = []
        if arm.sessions > 0 or control.sessions > 0:
            prop = _attempt(cnotes, "completion rate", two_proportion_z_test, arm.completed, arm.sessions,
                            control.completed, control.sessions, confidence=confidence)
            if prop is not None:
                secondary_raw.append(("completion rate", prop))
        for metric in arm.secondary:
            if metric not in control.secondary:
                cnotes.append(f"{metric}: missing for the control arm")
                continue
            res = _attempt(cnotes, metric, welch_t_test, arm.secondary[metric], control.secondary[metric],
                           confidence=confidence)
            if res is not None:
                secondary_raw.append((metric, res))
        secondary = _holm_secondary(secondary_raw, alpha=alpha)

        sequential = None
        if look_times is not None and tau is not None:
            if arm.times is None or control.times is None:
                cnotes.append("sequential test: outcome times missing")
            else:
                looks = looks_from_times(arm.times, control.times, look_times)
                if looks:
                    sequential = _attempt(cnotes, "sequential test", msprt, t, c, looks=looks, tau=tau, alpha=alpha)
                else:
                    cnotes.append(f"sequential test: no look has {MSPRT_MIN_PER_ARM} outcomes in each arm yet")
        partial.append((arm.name, cuped if cuped is not None else welch, welch, cuped, mw, boot, g, secondary,
                        sequential, cnotes))

    verdicts = _primary_verdicts([p[1] for p in partial], alpha=alpha, effect_label=effect_label)
    comparisons = []
    for i, (name, primary, welch, cuped, mw, boot, g, secondary, sequential, cnotes) in enumerate(partial):
        v = verdicts[i]
        comparisons.append(Comparison(treatment=name, control=control.name, primary=primary, welch=welch, cuped=cuped,
                                      mann_whitney=mw, bootstrap=boot, hedges_g=g, secondary=secondary,
                                      sequential=sequential, verdict=v, notes=tuple(cnotes)))
    return ExperimentAnalysis(alpha=alpha, control=control.name, arms=tuple(reports), srm=srm,
                              comparisons=tuple(comparisons), notes=tuple(notes))


def _stack(
    t: np.ndarray, c: np.ndarray, pt: np.ndarray | None, pc: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.concatenate([np.asarray(t, dtype=np.float64), np.asarray(c, dtype=np.float64)])
    # participant ids of different arms never collide: an arm prefix keeps them apart even if a
    # caller reuses ids across arms (a between-subject participant is in one arm only)
    g = np.concatenate([np.asarray(_ids(pt)).astype(str), np.asarray(_ids(pc)).astype(str)])
    arm = np.concatenate([np.ones(len(t), dtype=bool), np.zeros(len(c), dtype=bool)])
    return y, g, arm


def _analyze_clustered(*, control: ArmData, treatments: Sequence[ArmData], alpha: float, effect_label: str,
                       n_resamples: int, look_times: Any, tau: Any, seed: int, reports: list[ArmReport], srm: Any,
                       notes: list[str]) -> ExperimentAnalysis:
    """The participant-level analysis (every arm carries participant ids): CR2 difference in
    means or Lin/CUPED regression as the primary test, rank test on participant means, cluster
    bootstrap, Hedges' g on participant means, clustered completion and secondary tests (Holm),
    clustered mSPRT over the looks, and the observed ICC."""
    confidence = 1.0 - alpha
    arms = [control, *treatments]
    reports = [_with_participants(r, a, confidence) for r, a in zip(reports, arms, strict=True)]
    all_y = np.concatenate([np.asarray(a.outcomes, dtype=np.float64) for a in arms])
    all_g = np.concatenate([np.asarray(a.participants).astype(str) for a in arms])
    all_arm = np.concatenate([np.full(len(a.outcomes), i) for i, a in enumerate(arms)])
    icc = _attempt(notes, "ICC", observed_icc, all_y, all_g, all_arm) if all_y.size >= 2 else None
    partial = []
    for arm in treatments:
        cnotes: list[str] = []
        y, g, a = _stack(arm.outcomes, control.outcomes, arm.participants, control.participants)
        diff = _attempt(cnotes, "difference in means", clustered_difference, y, g, a, confidence=confidence)
        cuped = None
        if arm.covariates is not None and control.covariates is not None:
            x = np.concatenate([np.asarray(arm.covariates, dtype=np.float64),
                                np.asarray(control.covariates, dtype=np.float64)])
            cuped = _attempt(cnotes, "CUPED", clustered_cuped, y, x, g, a, confidence=confidence)
        mw = _attempt(cnotes, "Mann–Whitney U", participant_rank_test, y, g, a)
        boot = _attempt(cnotes, "bootstrap", cluster_bootstrap, y, g, a, confidence=confidence,
                        n_resamples=n_resamples, seed=seed)
        hg = None
        if len(arm.outcomes) and len(control.outcomes):
            hg = _attempt(cnotes, "Hedges' g", hedges_g, participant_means(arm.outcomes, _ids(arm.participants))[1],
                          participant_means(control.outcomes, _ids(control.participants))[1], confidence=confidence)
        secondary_raw: list[tuple[str, EffectEstimate]] = []
        if arm.completion is not None and control.completion is not None:
            ys, gs, as_ = _stack(arm.completion, control.completion, arm.session_participants,
                                 control.session_participants)
            prop = _attempt(cnotes, "completion rate", clustered_proportions, ys, gs, as_, confidence=confidence)
            if prop is not None:
                secondary_raw.append(("completion rate", prop))
        for metric in arm.secondary:
            if metric not in control.secondary:
                cnotes.append(f"{metric}: missing for the control arm")
                continue
            ym, gm, am = _stack(arm.secondary[metric], control.secondary[metric],
                                arm.secondary_participants.get(metric, _NO_IDS),
                                control.secondary_participants.get(metric, _NO_IDS))
            res = _attempt(cnotes, metric, clustered_difference, ym, gm, am, confidence=confidence)
            if res is not None:
                secondary_raw.append((metric, res))
        secondary = _holm_secondary(secondary_raw, alpha=alpha)
        sequential = None
        if look_times is not None and tau is not None:
            if arm.times is None or control.times is None:
                cnotes.append("sequential test: outcome times missing")
            elif y.size >= 2:
                times = np.concatenate([np.asarray(arm.times, dtype=np.float64),
                                        np.asarray(control.times, dtype=np.float64)])
                sequential = _attempt(cnotes, "sequential test", msprt_clustered, y, g, a, times, look_times,
                                      tau=tau, alpha=alpha)
            else:
                cnotes.append(f"sequential test: no look has {MSPRT_MIN_PARTICIPANTS_PER_ARM} participants in each "
                              "arm yet")
        primary = cuped if cuped is not None else diff
        partial.append((arm.name, primary, diff, cuped, mw, boot, hg, secondary, sequential, cnotes))

    verdicts = _primary_verdicts([p[1] for p in partial], alpha=alpha, effect_label=effect_label)
    comparisons = []
    for i, (name, primary, diff, cuped, mw, boot, hg, secondary, sequential, cnotes) in enumerate(partial):
        v = verdicts[i]
        comparisons.append(Comparison(treatment=name, control=control.name, primary=primary, welch=None, cuped=cuped,
                                      mann_whitney=mw, bootstrap=boot, hedges_g=hg, secondary=secondary,
                                      sequential=sequential, verdict=v, notes=tuple(cnotes), difference=diff))
    return ExperimentAnalysis(alpha=alpha, control=control.name, arms=tuple(reports), srm=srm,
                              comparisons=tuple(comparisons), notes=tuple(notes), unit="participant", icc=icc)


def _with_participants(report: ArmReport, arm: ArmData, confidence: float) -> ArmReport:
    if arm.participants is None or len(arm.outcomes) == 0:
        return ArmReport(name=report.name, exposures=report.exposures, summary=report.summary,
                         completion_rate=report.completion_rate, participants=0)
    _, means = participant_means(arm.outcomes, arm.participants)
    ps = None
    if means.size >= 2:
        try:
            ps = summarize(means, name=arm.name, confidence=confidence)
        except ValueError:
            ps = None
    rate = report.completion_rate
    if arm.completion is not None and len(arm.completion):
        rate = float(np.mean(arm.completion))
    return ArmReport(name=report.name, exposures=report.exposures, summary=report.summary, completion_rate=rate,
                     participants=int(means.size), participant_summary=ps)
