"""Registry of demo-data steps that apps contribute to `manage.py load_demo` (DEBUG only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[[Any], str | None]  # receives the command's stdout; returns a summary line
    order: int = 100


_steps: dict[str, DemoStep] = {}


def register(step: DemoStep) -> None:
    _steps[step.name] = step


def steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda s: (s.order, s.name))
