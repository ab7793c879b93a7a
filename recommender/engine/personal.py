"""The `personal` strategy (design 000, second approach): what *this* listener associates
features with, blended with the population's labels.

For a listener with n rated tracks (ListenerProfile.track_ids and their own GEMS answers),
a ridge regression on the index's standardized features x gives a personal model of which
features evoke which GEMS emotions:

    g_L(x) = W^T x + b                          (9 outputs, fitted to the listener's answers)

The emotion the engine expects the listener to feel for catalog track j blends it with the
population label:

    e_L(j) = w_pop * label_pop(j) + (1 - w_pop) * g_L(x_j),      w_pop = k / (k + n)

with k = `prior_strength` (default 10 ratings, a pseudo-count). No ratings: w_pop = 1 and the
population labels decide; 10 ratings: equal weight; 90 ratings: the listener's own model
carries 90%. Valence/arousal use the one circumplex table (emotion/vocab.py):
va_L(j) = e_L(j) @ GEMS_VA, whose personal part is linear in x: A x + c with
A = (W @ GEMS_VA)^T and c = b @ GEMS_VA.

Each waypoint's candidates are the tracks nearest in population valence/arousal plus the
tracks nearest (in sound) to the "imaginary track" x* that the personal model places at the
waypoint t, x* = x_ref + A^T (A A^T + lambda I)^-1 (t - c - A x_ref), where x_ref is the mean
of the listener's rated tracks (design 000: "find the song that most closely matches those
features"); the candidate whose blended valence/arousal is nearest the waypoint is taken.

With an imported streaming history (design 003; ListenerProfile.history_ids), the tracks nearest
in sound to the history's centre join every waypoint's candidates, and a candidate's score adds
HISTORY_WEIGHT times its standardized feature distance from that centre (divided by the square
root of the number of features): among tracks that fit the waypoint about equally, the one that
sounds like what the person already plays is taken.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion import vocab

from .context import Context, describe_va, gems_path, start_target_va, target_state, va_path

PRIOR_STRENGTH = 10.0
RIDGE = 3.0
STEP_LIMIT = 4.0  # max standardized distance of x* from the reference track
CANDIDATES = 32  # nearest by population valence/arousal, per waypoint
SOUND_CANDIDATES = 24  # nearest in sound to the personal imaginary track
SOUND_STRIDE = 4
HISTORY_WEIGHT = 0.15  # valence/arousal units per unit of (feature distance / sqrt(d)) from the history's centre


def population_weight(n_ratings: int, prior_strength: float = PRIOR_STRENGTH) -> float:
    """w_pop = k / (k + n): the population labels' weight after n of the listener's ratings."""
    return float(prior_strength) / (float(prior_strength) + max(0, int(n_ratings)))


def fit_personal_model(x: np.ndarray, gems: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression from standardized features (m, d) to GEMS answers (m, 9): (W, b)."""
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(gems, dtype=np.float64)
    xm, gm = x.mean(axis=0), g.mean(axis=0)
    xc, gc = x - xm, g - gm
    w = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ gc)
    return w, gm - xm @ w


def history_taste(ctx: Context) -> np.ndarray | None:
    """The centre, in standardized features, of the listener's history tracks; None without them."""
    prof = ctx.profile
    if prof is None or not prof.history_ids or not ctx.index.n_features:
        return None
    pos = ctx.index.positions_of(np.asarray(prof.history_ids, dtype=np.int64))
    if pos.size == 0:
        return None
    return np.asarray(ctx.index.z[pos].astype(np.float64).mean(axis=0))


def run_personal(ctx: Context) -> dict[str, Any]:
    index = ctx.index
    start, target = start_target_va(ctx)
    k_prior = ctx.param("prior_strength", PRIOR_STRENGTH, float, 0.0, 1e6)
    ridge = ctx.param("ridge", RIDGE, float, 1e-6, 1e6)
    prof = ctx.profile
    pos_r = np.zeros(0, dtype=np.int64)
    answers = np.zeros((0, vocab.N_GEMS))
    if prof is not None and prof.track_ids.size:
        pos_r = index.positions_of(prof.track_ids)
        answers = prof.gems[np.isin(prof.track_ids, index.track_ids[pos_r])]
    n = int(pos_r.size)
    w_pop = population_weight(n, k_prior) if index.n_features else 1.0
    if n == 0:
        ctx.notes.append("No ratings from this listener yet: the population labels decide (w_pop = 1)")
    else:
        ctx.notes.append(
            f"Personal model from {n} of the listener's ratings; population weight w_pop = k/(k+n) = "
            f"{k_prior:g}/({k_prior:g}+{n}) = {w_pop:.2f}"
        )
    if w_pop < 1.0:
        wmat, bvec = fit_personal_model(index.z[pos_r], answers, ridge)
        a_mat = (wmat @ vocab.GEMS_VA).T  # (2, d)
        c_vec = bvec @ vocab.GEMS_VA
        ref = index.z[pos_r].astype(np.float64).mean(axis=0)
    else:
        a_mat = c_vec = ref = None  # type: ignore[assignment]  # unused when w_pop == 1

    def blended_va(pos: np.ndarray) -> np.ndarray:
        if a_mat is None:
            return index.va[pos]
        return np.asarray(w_pop * index.va[pos] + (1.0 - w_pop) * (index.z[pos].astype(np.float64) @ a_mat.T + c_vec))

    easing = ctx.easing()
    path = va_path(start, target, ctx.n, easing)
    gpath = gems_path(ctx.request.start.to_gems(), target_state(ctx).to_gems(), ctx.n, easing)
    va_d, va_p = index.spaces["va"].query_many(path, CANDIDATES)
    if a_mat is not None:
        # the personal model's "imaginary track" for each waypoint, from the listener's own taste
        gaps = path - c_vec - a_mat @ ref
        steps = gaps @ np.linalg.solve(a_mat @ a_mat.T + 1e-3 * np.eye(2), a_mat)
        norms = np.linalg.norm(steps, axis=1, keepdims=True)
        steps *= np.minimum(1.0, STEP_LIMIT / np.maximum(norms, 1e-12))
        # x* moves along a line as the waypoint moves: search in sound at every SOUND_STRIDE-th
        # waypoint (and the last) and share those candidates with the waypoints around it
        anchors = np.unique(np.append(np.arange(0, len(path), SOUND_STRIDE), len(path) - 1))
        _, near_p = index.spaces["features"].query_many(ref + steps[anchors], SOUND_CANDIDATES)
        nearest_anchor = np.abs(np.arange(len(path))[:, None] - anchors[None, :]).argmin(axis=1)
    taste = history_taste(ctx)
    score = None
    taste_p = np.zeros(0, dtype=np.int64)
    if taste is not None:
        _, taste_p = index.spaces["features"].query(taste, 4 * ctx.n + 16)
        scale = HISTORY_WEIGHT / np.sqrt(index.z.shape[1])

        def score(pos: np.ndarray, d: np.ndarray) -> np.ndarray:
            return np.asarray(d + scale * np.linalg.norm(index.z[pos].astype(np.float64) - taste, axis=1))

        ctx.notes.append("Among tracks that fit each step about equally, ones that sound like your streaming history come first")
    for i, wp in enumerate(path):
        parts = [va_p[i], taste_p] if a_mat is None else [va_p[i], near_p[nearest_anchor[i]], taste_p]
        cand = np.unique(np.concatenate(parts))
        cand = cand[ctx.acceptable(cand)]
        if cand.size:
            pos, dist = ctx._best(cand, np.linalg.norm(blended_va(cand) - wp, axis=1), score)
        else:
            got = ctx.pick("va", wp, k=CANDIDATES * 8)
            if got is None:
                ctx.ran_out()
                break
            pos = got[0]
            dist = float(np.linalg.norm(blended_va(np.array([pos]))[0] - wp))
        mine = blended_va(np.array([pos]))[0]
        reason = (
            f"Step {i + 1}: waypoint {describe_va(wp)}; for this listener the track feels {describe_va(mine)} "
            f"({dist:.2f} away; population label {describe_va(index.va[pos])}, w_pop {w_pop:.2f})"
        )
        ctx.take(pos, wp, gpath[i], dist, reason)
    return {
        "population_weight": w_pop,
        "n_ratings": n,
        "prior_strength": k_prior,
        "formula": "w_pop = k / (k + n)",
        "history_tracks": len(ctx.profile.history_ids) if taste is not None and ctx.profile is not None else 0,
    }
