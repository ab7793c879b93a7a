"""Pseudonyms that cannot pass for someone else's: Unicode normalisation and confusable skeletons.

A pseudonym is normalised to NFKC before it is stored (full-width `ｄemo` becomes `demo`), and a
new one is refused when its confusable skeleton equals that of an existing pseudonym or of a
reserved word (`dеmo-therapist` with a Cyrillic е, `dem0-therapist`, `аdmin`, `erased-…`).

The skeleton is Unicode Technical Standard #39's (section 4, "Confusable Detection"):
skeleton(X) = NFD(map each character of NFD(X) to its prototype). The prototype table is
Unicode's confusables.txt as shipped by the maintained `confusable_homoglyphs` package (its
data lists, for a character that has a prototype, that one prototype; for a prototype, the
characters that map to it). TR39 skeletons keep case (`0` maps to `O`), and pseudonyms are
case-insensitive, so the comparison key applies skeleton and case folding in turn, starting
from casefold(NFKC(X)), until the string no longer changes.

Pure module: no Django. accounts.services decides what to do with a match.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs.confusables import confusables_data, is_dangerous

# Words a pseudonym may not be, or start with (as skeletons): staff-like names, and the
# prefixes Attune itself uses (demo users, erased-account tombstones).
RESERVED_PREFIXES: tuple[str, ...] = ("erased-", "demo-", "admin", "attune", "root", "staff", "support", "moderator")
RESERVED_WORDS: tuple[str, ...] = ("researcher", "therapist", "participant", "system", "anonymous", "null")


def normalize(name: str) -> str:
    """The form a pseudonym is stored in: NFKC, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", name).strip()


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Character -> its TR39 prototype. A pair of characters that list only each other (the
    data does not say which of the two is the prototype) both map to the smaller one, which
    keeps skeleton equality exactly as TR39 defines it."""
    table: dict[str, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or len(entries) != 1:
            continue  # a prototype lists every character that maps to it
        target = entries[0]["c"]
        back = [e["c"] for e in confusables_data.get(target, [])]
        table[char] = min(char, target) if back == [char] else target
    return table


def skeleton(text: str) -> str:
    """TR39 skeleton of `text`."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


def confusable_key(name: str) -> str:
    """Two pseudonyms a reader could take for one another have the same key: skeleton and
    case folding applied in turn until neither changes anything (`0` -> `O` -> `o`). Case is
    folded first, as pseudonyms are case-insensitive (`QUIET` and `quiet` are one name)."""
    key = normalize(name).casefold()
    for _ in range(4):
        folded = skeleton(key).casefold()
        if folded == key:
            break
        key = folded
    return key


def reserved_reason(name: str) -> str | None:
    """Why `name` may not be a pseudonym (it is or looks like a reserved word), or None."""
    key = confusable_key(name)
    for prefix in RESERVED_PREFIXES:
        if key.startswith(confusable_key(prefix)):
            return f"Pseudonyms starting with {prefix!r} (or anything that looks like it) are reserved."
    for word in RESERVED_WORDS:
        if key == confusable_key(word):
            return f"{word!r} (or anything that looks like it) is reserved."
    return None


def mixes_confusable_scripts(name: str) -> bool:
    """True when the name mixes scripts with characters confusable across them (`pаypal`)."""
    return bool(is_dangerous(normalize(name)))
