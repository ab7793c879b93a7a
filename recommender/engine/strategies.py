"""The path-following strategies: iso, interpolation (design 000), mapping (design 002),
seed_track (design 001) and the random control arm."""

from __future__ import annotations

from typing import Any

import numpy as np

from emotion import vocab

from .context import Context, describe_va, fractions, gems_path, start_target_va, target_state, va_path
from .types import EngineError, State

CONFIDENCE_WEIGHT = 0.2

# --------------------------------------------------------------------------------------
# iso: follow the valence/arousal path (the iso principle of receptive music therapy)


def _follow_va(
    ctx: Context,
    path: np.ndarray,
    gpath: np.ndarray | None,
    *,
    similarity_weight: float,
    reference: int | None = None,
    what: str = "",
) -> None:
    """Walk the waypoints: for each, the track whose label valence/arousal is nearest,
    re-ranked by standardized feature distance to the previous track (or to `reference`)
    and, when the catalog gives label confidences, by how sure the label is:

    score = va_distance + similarity_weight * feature_distance / sqrt(d)
            + confidence_weight * (1 - label_confidence)
    """
    index = ctx.index
    scale = 1.0 / np.sqrt(max(1, index.n_features))
    conf = index.label_confidence
    conf_w = ctx.param("confidence_weight", CONFIDENCE_WEIGHT, float, 0.0, 10.0) if conf is not None else 0.0
    prev = reference
    for i, wp in enumerate(path):
        score = None
        ref = prev if reference is None else reference
        use_sound = ref is not None and similarity_weight > 0 and index.n_features
        if use_sound or conf_w > 0:
            ref_z = index.z[ref] if use_sound else None

            def score(pos: np.ndarray, d: np.ndarray, ref_z: np.ndarray | None = ref_z) -> np.ndarray:
                out = d
                if ref_z is not None:
                    out = out + similarity_weight * scale * np.linalg.norm(index.z[pos] - ref_z, axis=1)
                if conf_w > 0:
                    assert conf is not None  # conf_w > 0 only with confidences
                    out = out + conf_w * (1.0 - conf[pos])
                return out

        got = ctx.pick("va", wp, k=48, score=score)
        if got is None:
            ctx.ran_out()
            return
        pos, dist = got
        track_va = index.va[pos]
        reason = f"Step {i + 1}: waypoint {describe_va(wp)}; track's label is {dist:.2f} away ({describe_va(track_va)})"
        if ref is not None and similarity_weight > 0 and index.n_features:
            fd = float(np.linalg.norm(index.z[pos] - index.z[ref]))
            reason += f"; sounds {'close to the favourite' if reference is not None else 'close to the previous track'} (feature distance {fd:.2f})"
        if what:
            reason += f" [{what}]"
        ctx.take(pos, wp, None if gpath is None else gpath[i], dist, reason)
        prev = pos


def run_iso(ctx: Context) -> dict[str, Any]:
    start, target = start_target_va(ctx)
    easing = ctx.easing()
    sim = ctx.param("similarity_weight", 0.1, float, 0.0, 10.0)
    path = va_path(start, target, ctx.n, easing)
    gpath = gems_path(ctx.request.start.to_gems(), target_state(ctx).to_gems(), ctx.n, easing)
    _follow_va(ctx, path, gpath, similarity_weight=sim)
    return {"easing": easing, "similarity_weight": sim}


# --------------------------------------------------------------------------------------
# random: the control arm


def run_random(ctx: Context) -> dict[str, Any]:
    """Random eligible tracks under the same constraints; waypoints are the iso path
    (or the start when no target is given) so quality can be compared."""
    start = ctx.request.start.to_va()
    target = ctx.request.target.to_va() if ctx.request.target is not None else start
    path = va_path(start, target, ctx.n)
    candidates = np.flatnonzero(ctx.eligible)
    order = None
    for i, wp in enumerate(path):
        chosen = None
        for _ in range(64):
            pos = int(candidates[ctx.rng.integers(candidates.size)])
            if ctx.acceptable(np.array([pos]))[0]:
                chosen = pos
                break
        if chosen is None:
            if order is None:
                order = ctx.rng.permutation(candidates)
            ok = ctx.acceptable(order)
            if not ok.any():
                ctx.ran_out()
                break
            chosen = int(order[np.argmax(ok)])
        dist = float(np.linalg.norm(ctx.index.va[chosen] - wp))
        ctx.take(chosen, wp, None, dist, f"Step {i + 1}: a random eligible track (control arm)")
    return {}


# --------------------------------------------------------------------------------------
# interpolation (design 000, first approach): imaginary tracks between two anchors

ANCHOR_RADIUS = 0.35


def _anchor(ctx: Context, state: State, which: str, avoid: int | None) -> tuple[int, str]:
    """The track that stands for a state: the listener's own annotated track whose answer
    is nearest the state (within ANCHOR_RADIUS on the circumplex), else the catalog track
    whose label is nearest."""
    index = ctx.index
    point = state.to_va()
    prof = ctx.profile
    if prof is not None and prof.track_ids.size:
        pos = index.positions_of(prof.track_ids)
        found = np.isin(prof.track_ids, index.track_ids[pos])
        answers = prof.gems[found]
        if pos.size:
            d = np.linalg.norm(answers @ vocab.GEMS_VA - point, axis=1)
            if avoid is not None:
                d = np.where(pos == avoid, np.inf, d)
            j = int(np.argmin(d))
            if d[j] <= ANCHOR_RADIUS:
                return int(
                    pos[j]
                ), f"the listener's own track {int(index.track_ids[pos[j]])}, rated near the {which} state"
    if avoid is not None:
        ctx.used[avoid] = True
    got = ctx.pick("va", point, k=16)
    if avoid is not None:
        ctx.used[avoid] = False
    if got is None and avoid is not None:
        return avoid, f"the same track as the start anchor ({int(index.track_ids[avoid])}): no other track is eligible"
    if got is None:
        raise EngineError(f"No eligible track can stand for the {which} state")
    return got[0], f"catalog track {int(index.track_ids[got[0]])}, whose label is nearest the {which} state"


# The imaginary tracks of `interpolation` often land in sparse corners of the 10-D feature space,
# where an exact KD-tree search visits many leaves. An approximate search (each candidate within
# 1.2x of the exact k-th distance) keeps the 1M-track p95 well under target; bench/playlist.py
# reports how often it changes the chosen track and what that does to the quality measures.
IMAGINARY_EPS = 0.2


def run_interpolation(ctx: Context) -> dict[str, Any]:
    index = ctx.index
    if index.n_features == 0:
        raise EngineError("The interpolation strategy needs audio features; this catalog has none")
    start, target = start_target_va(ctx)
    easing = ctx.easing()
    a_pos, a_why = _anchor(ctx, ctx.request.start, "start", None)
    b_pos, b_why = _anchor(ctx, target_state(ctx), "target", a_pos)
    a = index.z[a_pos].astype(np.float64)
    b = index.z[b_pos].astype(np.float64)
    t = fractions(ctx.n, easing)
    imaginary = (1.0 - t)[:, None] * a + t[:, None] * b
    path = va_path(start, target, ctx.n, easing)
    gpath = gems_path(ctx.request.start.to_gems(), target_state(ctx).to_gems(), ctx.n, easing)
    ctx.notes.append(f"Start anchor: {a_why}; target anchor: {b_why}")
    space = index.spaces["features"]
    cand_d, cand_p = space.query_many(imaginary, 8, eps=IMAGINARY_EPS)
    for i, x in enumerate(imaginary):
        got = ctx.pick_from(space, x, (cand_d[i], cand_p[i]))
        if got is None:
            ctx.ran_out()
            break
        pos, dist = got
        reason = (
            f"Step {i + 1}: imaginary track {t[i]:.0%} of the way from the start anchor to the target anchor; "
            f"nearest unused real track in sound (feature distance {dist:.2f}), labelled {describe_va(index.va[pos])}"
        )
        ctx.take(pos, path[i], gpath[i], dist, reason)
    return {
        "easing": easing,
        "anchors": {
            "start": {"track_id": int(index.track_ids[a_pos]), "why": a_why},
            "target": {"track_id": int(index.track_ids[b_pos]), "why": b_why},
        },
        "imaginary_tracks": np.round(imaginary, 6).tolist(),
        "feature_names": list(index.feature_names),
    }


# --------------------------------------------------------------------------------------
# mapping (design 002): a therapeutic target when none is given

THERAPEUTIC_TARGETS: dict[str, tuple[str, str]] = {
    # Design 002 (Krushna et al., "Personalised Music Therapy System"): "uplifting music
    # during sadness and calming melodies to alleviate anger or stress", "mood enhancers,
    # calming melodies for stress, energetic tracks for sadness". Keys are the FER2013
    # expression classes that paper detects; values are GEMS targets in emotion/vocab.py.
    "sad": ("joyful_activation", "uplifting music for sadness"),
    "angry": ("peacefulness", "calming music to ease anger or stress"),
    "fear": ("peacefulness", "calming music to ease fear and stress"),
    "disgust": ("tenderness", "warm, soothing music to ease distress"),
    "surprise": ("wonder", "settling the alarm while keeping the interest"),
    "neutral": ("wonder", "a gentle lift (mood enhancer)"),
    "happy": ("joyful_activation", "keeping the good mood going (mood enhancer)"),
}


def therapeutic_target(start: State) -> tuple[str, str, str]:
    """(expression the start is read as, GEMS target, why) from THERAPEUTIC_TARGETS.

    A facial-expression state is looked up directly; a GEMS or valence/arousal state is read
    as the expression class nearest to it on the circumplex (vocab.FER_VA)."""
    if start.source == "fer" and start.label in THERAPEUTIC_TARGETS:
        expression = start.label
    else:
        d = np.linalg.norm(vocab.FER_VA - start.to_va(), axis=1)
        expression = vocab.FER[int(np.argmin(d))]
    target, why = THERAPEUTIC_TARGETS[expression]
    return expression, target, why


def run_mapping(ctx: Context) -> dict[str, Any]:
    req = ctx.request
    expression, emotion, why = therapeutic_target(req.start)
    if req.target is not None:
        target = req.target
        ctx.notes.append("A target was given, so the therapeutic table (design 002) was not needed")
        source = "given"
    else:
        target = State.from_gems(vocab.one_hot_gems(emotion))
        read = "" if req.start.source == "fer" else f" (read as '{expression}', the nearest expression)"
        ctx.notes.append(
            f"Current mood {req.start.describe()}{read} -> target {vocab.GEMS_INFO[vocab.gems_index(emotion)].label}: "
            f"{why} (therapeutic table, design 002)"
        )
        source = "table"
    start_va, target_va = req.start.to_va(), target.to_va()
    if np.linalg.norm(start_va - target_va) < 1e-3:
        raise EngineError("The current mood already is the therapeutic target; choose a target explicitly")
    easing = ctx.easing()
    sim = ctx.param("similarity_weight", 0.1, float, 0.0, 10.0)
    path = va_path(start_va, target_va, ctx.n, easing)
    gpath = gems_path(req.start.to_gems(), target.to_gems(), ctx.n, easing)
    _follow_va(ctx, path, gpath, similarity_weight=sim, what=f"toward {target.label.replace('_', ' ')}")
    return {
        "read_as": expression,
        "target_emotion": target.label if source == "given" else emotion,
        "target_va": [float(target_va[0]), float(target_va[1])],
        "target_source": source,
        "rationale": why,
    }


# --------------------------------------------------------------------------------------
# seed_track (design 001): modulate or enhance from a favourite track

MODULATE_RADIUS = 0.5


def seed_decision(
    current_va: np.ndarray, favourite_va: np.ndarray, radius: float = MODULATE_RADIUS
) -> tuple[str, np.ndarray, str]:
    """Design 001's rule: compare the favourite's emotion with the listener's current one.

    - close together (within `radius` on the circumplex): "modulate" - stay near, drifting to
      the favourite's emotion;
    - the favourite is brighter (higher valence) or more energetic (higher arousal) and
      further away: "enhance" - move toward it ("a bright favourite but a sad face");
    - the favourite is darker and calmer and far away: "modulate" around the current mood,
      drifting only a little toward it (we do not push a listener into a darker mood).
    Returns (mode, target valence/arousal, explanation).
    """
    cur = np.asarray(current_va, dtype=np.float64)
    fav = np.asarray(favourite_va, dtype=np.float64)
    gap = fav - cur
    dist = float(np.linalg.norm(gap))
    if dist <= radius:
        return (
            "modulate",
            fav,
            (
                f"the favourite feels {describe_va(fav)}, close to the current {describe_va(cur)} "
                f"({dist:.2f} apart): modulate, staying near this mood"
            ),
        )
    if gap[0] > 0 or gap[1] > 0:
        more = "brighter" if gap[0] > 0 else "more energetic"
        return (
            "enhance",
            fav,
            (
                f"the favourite feels {describe_va(fav)}, {more} than the current {describe_va(cur)}: "
                "enhance, moving toward higher valence/arousal"
            ),
        )
    drift = cur + gap / dist * (radius / 2.0)
    return (
        "modulate",
        np.clip(drift, -1.0, 1.0),
        (
            f"the favourite feels {describe_va(fav)}, darker and calmer than the current {describe_va(cur)}: "
            "modulate around the current mood rather than pushing it down"
        ),
    )


def run_seed_track(ctx: Context) -> dict[str, Any]:
    req = ctx.request
    index = ctx.index
    if req.seed_track_id is None:
        raise EngineError("The seed_track strategy needs seed_track_id: the listener's current favourite track")
    seed_pos = int(index.positions_of([int(req.seed_track_id)], strict=True)[0])
    radius = ctx.param("modulate_radius", MODULATE_RADIUS, float, 0.0, 3.0)
    sim = ctx.param("similarity_weight", 0.3, float, 0.0, 10.0)
    mode, target_va, why = seed_decision(req.start.to_va(), index.va[seed_pos], radius)
    if req.target is not None:
        ctx.notes.append("seed_track decides its own direction from the favourite; the given target was not used")
    ctx.notes.append(f"Favourite track {int(req.seed_track_id)}: {why} (design 001)")
    ctx.used[seed_pos] = True  # the favourite itself is the seed, not a recommendation
    easing = ctx.easing()
    start_va = req.start.to_va()
    path = va_path(start_va, target_va, ctx.n, easing)
    target_gems = vocab.va_to_gems(np.clip(target_va, -1, 1))
    gpath = gems_path(req.start.to_gems(), target_gems, ctx.n, easing)
    _follow_va(ctx, path, gpath, similarity_weight=sim, reference=seed_pos, what=mode)
    return {
        "mode": mode,
        "decision": why,
        "seed_va": [float(x) for x in index.va[seed_pos]],
        "target_va": [float(x) for x in target_va],
    }
