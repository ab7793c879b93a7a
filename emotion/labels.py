"""The GEMS and FER vocabularies as a page shows them: labels and descriptions in the active
language (locale/*/LC_MESSAGES/django.po). emotion.vocab keeps the English originals and the
internal names, which never change with the language."""

from __future__ import annotations

from dataclasses import replace

from django.utils.translation import gettext

from emotion.vocab import FER_INFO, GEMS_INFO, EmotionInfo


def _translated(infos: tuple[EmotionInfo, ...]) -> list[EmotionInfo]:
    return [replace(e, label=gettext(e.label), description=gettext(e.description)) for e in infos]


def gems_info() -> list[EmotionInfo]:
    """The nine GEMS categories, labels and descriptions translated."""
    return _translated(GEMS_INFO)


def fer_info() -> list[EmotionInfo]:
    """The seven facial-expression classes, labels and descriptions translated."""
    return _translated(FER_INFO)
