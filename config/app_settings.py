"""Typed app settings, one style for every app.

Each app declares its settings once, in ``<app>/conf.py``, as a :class:`Settings` of
:class:`Setting` rows (environment name, type, default, meaning), and ends with::

    def __getattr__(name: str) -> Any:
        return SETTINGS.value(name)

so ``conf.MAX_BATCH`` reads ``django.conf.settings.ATTUNE_LISTENING_MAX_BATCH`` *at call time*
(``override_settings`` in a test reaches the code) and falls back to the declared default.

``config/settings.py`` reads every ``ATTUNE_*`` environment variable through :func:`from_environment`:
a declared one is parsed by its type (a bad value stops start-up with a message that names it), an
unknown one stops start-up with the closest declared name, so a misspelling is never ignored.

This module imports nothing from the apps and touches no files.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings  # lazy: nothing is read at import

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SettingError(ValueError):
    """An ATTUNE_* environment variable that is unknown or cannot be parsed."""


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"expected one of {', '.join(_TRUE + _FALSE[:-1])}")


def _parse_tuple(raw: str) -> tuple[Any, ...]:
    """A JSON list, or comma-separated words."""
    text = raw.strip()
    if text.startswith("["):
        value = json.loads(text)
        if not isinstance(value, list):
            raise ValueError("expected a JSON list")
        return tuple(value)
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_json(raw: str) -> Any:
    return json.loads(raw)


PARSERS: dict[type | str, Callable[[str], Any]] = {
    int: int,
    float: float,
    bool: _parse_bool,
    str: str,
    Path: Path,
    tuple: _parse_tuple,
    "json": _parse_json,
}


def _coerce(kind: type | str, value: Any) -> Any:
    """A value set in Python (settings or override_settings) as the declared type."""
    if value is None or kind == "json":
        return value
    if kind is bool:
        return value if isinstance(value, bool) else _parse_bool(str(value))
    if kind is tuple:
        return tuple(value) if not isinstance(value, str) else _parse_tuple(value)
    assert isinstance(kind, type)
    return kind(value)


@dataclass(frozen=True)
class Setting:
    """One setting: ``env`` is its full ATTUNE_* name, ``kind`` one of int, float, bool, str,
    Path, tuple or "json"; ``default`` a value, or a function of django's settings for defaults
    that depend on another setting (e.g. a path under MODELS_DIR)."""

    key: str
    env: str
    kind: type | str
    default: Any
    doc: str

    def parse(self, raw: str) -> Any:
        try:
            return PARSERS[self.kind](raw)
        except (ValueError, TypeError) as exc:
            kind = self.kind if isinstance(self.kind, str) else self.kind.__name__
            raise SettingError(f"{self.env}={raw!r} is not a valid {kind}: {exc}") from None


class Settings:
    """An app's declared settings, read from django.conf.settings at call time."""

    def __init__(self, *rows: Setting) -> None:
        self.rows = rows
        self._by_key = {row.key: row for row in rows}
        if len(self._by_key) != len(rows):
            raise SettingError("a setting is declared twice")

    def value(self, key: str) -> Any:
        row = self._by_key.get(key)
        if row is None:
            raise AttributeError(f"no setting {key!r}; declared: {', '.join(self._by_key)}")
        missing = object()
        value = getattr(django_settings, row.env, missing)
        if value is missing:
            value = row.default(django_settings) if callable(row.default) else row.default
        return _coerce(row.kind, value)


def from_environment(environ: Mapping[str, str], declared: Iterable[Settings],
                     *, ignore: Iterable[str] = ()) -> dict[str, Any]:
    """Parse every ATTUNE_* variable of ``environ`` by its declaration: {env name: value}.

    Raises SettingError for an unknown name (with the closest declared one) or a bad value."""
    rows = {row.env: row for settings in declared for row in settings.rows}
    skip = set(ignore)
    values: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith("ATTUNE_") or name in skip:
            continue
        row = rows.get(name)
        if row is None:
            close = difflib.get_close_matches(name, list(rows) + sorted(skip), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else "; see the app's conf.py for the settings it has"
            raise SettingError(f"Unknown setting {name} in the environment{hint}")
        values[name] = row.parse(raw)
    return values
