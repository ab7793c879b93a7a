"""Progress of a running label run, as the pure modules report it."""

from __future__ import annotations

import time

import numpy as np

from studies.surveys.models import LabelRun


class RunProgress:
    """Progress callback for the pure modules: writes at most every 0.5 s."""

    def __init__(self, run: LabelRun, start: float = 0.0, span: float = 1.0):
        self.run, self.start, self.span, self.last = run, start, span, 0.0

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and fraction < 1.0:
            return
        self.last = now
        value = float(np.clip(self.start + self.span * fraction, 0.0, 1.0))
        LabelRun.objects.filter(pk=self.run.pk).update(progress=value, message=message[:500])
