"""A person's data export and erasure, section by section.

`accounts` sits at the bottom of the dependency order, so it cannot import the apps that
hold ratings, sessions or emotion traces. The composition module (config/wiring.py) installs
every app's sections, in the order erasure runs them:

    privacy.install([DataSection(name="ratings", export=..., erase=...), ...])

`export(user)` returns JSON-ready data; `erase(user)` deletes what the person would not
want kept and returns how many rows went. Erasure calls `erase` only when the person had
not consented to `research_data`; otherwise their rows stay, keyed only by participant code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DataSection:
    name: str
    export: Callable[[Any], Any]
    erase: Callable[[Any], int]
    # Sections that are personal whatever the research consent (e.g. therapist notes links)
    # set this so erasure always removes them.
    always_erase: bool = False
    # The models ("app_label.Model") whose rows about the person `export` returns. The export
    # test checks that every model holding a person's rows is named by some section.
    models: tuple[str, ...] = ()
    # Called (after commit) when the person turns the `research_data` consent off: figures
    # stored from their data (e.g. a label run's per-rater table) must stop showing them now,
    # not at the next run. Returns how many stored records changed.
    research_withdrawn: Callable[[Any], int] | None = None


_sections: tuple[DataSection, ...] = ()


def install(sections: Sequence[DataSection]) -> tuple[DataSection, ...]:
    """Set the sections, in erasure order (config/wiring.py). Returns the ones they replace."""
    global _sections
    names = [s.name for s in sections]
    if len(set(names)) != len(names):
        raise ValueError(f"data sections named twice: {sorted({n for n in names if names.count(n) > 1})}")
    previous, _sections = _sections, tuple(sections)
    return previous


def sections() -> list[DataSection]:
    return list(_sections)
