"""Hooks for the apps above this one: the strategy chooser (how an experiment decides a
session's strategy without studies.listening importing studies.experiments, which sits above
it) and the session-completed hook (therapy, at the end of this file).

    from studies.listening.hooks import StrategyChoice, install_strategy_chooser

    def choose(*, user, mode):  # -> StrategyChoice | None
        ...
    install_strategy_chooser(choose)      # in config/wiring.py

`listening.services.session_start` calls the chooser inside its transaction. When it returns
a choice, that strategy (and params) is used whatever the person picked, the session stores
`assignment_ref`, and `on_session_started(session)` runs in the same transaction (the
experiment records its exposure there). One chooser is installed at a time; installing
again replaces it (the overlap rule between experiments belongs to the chooser).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from studies.listening.models import ListeningSession


@dataclass(frozen=True)
class StrategyChoice:
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    assignment_ref: str = ""
    on_session_started: Callable[[ListeningSession], None] | None = None


class StrategyChooser(Protocol):
    def __call__(self, *, user: Any, mode: str) -> StrategyChoice | None: ...


_chooser: StrategyChooser | None = None


def install_strategy_chooser(fn: StrategyChooser | None) -> StrategyChooser | None:
    """Install `fn` as the chooser (None removes it). Returns the chooser it replaced."""
    global _chooser
    previous, _chooser = _chooser, fn
    return previous


def strategy_chooser() -> StrategyChooser | None:
    return _chooser


def choose_strategy(*, user: Any, mode: str) -> StrategyChoice | None:
    """Ask the installed chooser, if any. A chooser error propagates (the session is not started)."""
    if _chooser is None:
        return None
    choice = _chooser(user=user, mode=mode)
    if choice is not None and not isinstance(choice, StrategyChoice):
        raise TypeError(f"A strategy chooser must return StrategyChoice or None, not {type(choice).__name__}")
    return choice


# --- the session-completed hook ---------------------------------------------------------------
# therapy (above this app) marks the assigned listening a completed session played as done:
# `session_complete` calls the installed function inside its transaction, so both commit or
# neither does. One function at a time, installed by config/wiring.py, like the chooser.

SessionCompleted = Callable[["ListeningSession"], object]

_on_completed: SessionCompleted | None = None


def install_session_completed(fn: SessionCompleted | None) -> SessionCompleted | None:
    """Install `fn` (None removes it). Returns the function it replaced."""
    global _on_completed
    previous, _on_completed = _on_completed, fn
    return previous


def session_completed(session: ListeningSession) -> None:
    if _on_completed is not None:
        _on_completed(session)
