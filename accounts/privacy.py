"""Registry through which apps contribute to a person's data export and erasure.

`accounts` sits at the bottom of the dependency order, so it cannot import the apps that
hold ratings, sessions or emotion traces. Instead each app registers a section in its
`AppConfig.ready()`:

    privacy.register(DataSection(name="ratings", export=..., erase=...))

`export(user)` returns JSON-ready data; `erase(user)` deletes what the person would not
want kept and returns how many rows went. Erasure calls `erase` only when the person had
not consented to `research_data`; otherwise their rows stay, keyed only by participant code.
"""

from __future__ import annotations

from collections.abc import Callable
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


_sections: dict[str, DataSection] = {}


def register(section: DataSection) -> None:
    _sections[section.name] = section


def sections() -> list[DataSection]:
    return list(_sections.values())
