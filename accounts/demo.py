"""The demo-data steps of `manage.py load_demo` (DEBUG only), installed in order by config/wiring.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[[Any], str | None]  # receives the command's stdout; returns a summary line


_steps: tuple[DemoStep, ...] = ()


def install(steps: Sequence[DemoStep]) -> None:
    """Set the steps, in the order load_demo runs them (config/wiring.py)."""
    global _steps
    _steps = tuple(steps)


def steps() -> list[DemoStep]:
    return list(_steps)
