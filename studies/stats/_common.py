"""Shared pieces of the statistics package: the degenerate-input error, input checks and the
``EffectEstimate`` protocol that :func:`studies.stats.report.verdict` reads."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike


class InsufficientDataError(ValueError):
    """The data cannot support the requested statistic (empty arm, n < 2, zero variance...)."""


# ---------------------------------------------------------------------------------------------
# input checks


def _sample(values: ArrayLike, what: str, *, min_n: int = 1) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array of outcomes, got shape {arr.shape}")
    if arr.size == 0:
        raise InsufficientDataError(f"{what} is empty: no outcomes recorded for this arm yet")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or infinite values; drop or impute them first")
    if arr.size < min_n:
        raise InsufficientDataError(f"{what} has {arr.size} observation(s); at least {min_n} are needed")
    return arr


def _check_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
    return float(confidence)


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha}")
    return float(alpha)


# ---------------------------------------------------------------------------------------------
# results with an effect and an interval: what `verdict` needs


class EffectEstimate(Protocol):
    """What every estimate reports (read-only, so the frozen result dataclasses satisfy it)."""

    @property
    def method(self) -> str: ...
    @property
    def effect(self) -> float: ...
    @property
    def ci_low(self) -> float: ...
    @property
    def ci_high(self) -> float: ...
    @property
    def confidence(self) -> float: ...
    @property
    def p_value(self) -> float: ...




def _fmt_p(p: float) -> str:
    """'p < 0.0001', 'p = 0.0042' or 'p = 0.213'."""
    if p < 1e-4:
        return "p < 0.0001"
    if p < 0.01:
        return f"p = {p:.4f}"
    return f"p = {p:.3f}"

