"""Typos: a word of a message that is no word of any lexicon, and is one or two keystrokes away
from a word of a given list, is read as that word ("ambulnce" -> "ambulance", "boodschapen" ->
"boodschappen"). rapidfuzz's optimal-string-alignment distance (a swap of two letters is one typo).

Cheap by construction: only words that matched nothing exactly are looked up (four letters or more:
"grnd" is "grond" with a letter dropped; list words have five or more), only against list words of
about the same length that start with the same letter, and every answer is remembered (a
neighbourhood's messages reuse the same few thousand words).

Not simplemma: telling a typo from a real word with its dictionaries would cost ~19 s and ~800 MB to
load the ten languages (measured here); the lexicons' own words are the known words instead.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.process import extract

#: Shorter words are left alone: one keystroke turns too many short words into others.
MIN_LENGTH = 5
#: How many typos a word of this length may have (and still be read as the list's word).
LONG = 8
CACHE = 50_000


def allowed(length: int) -> int:
    return 1 if length < LONG else 2


#: Keyboards people type on here (QWERTY, AZERTY, QWERTZ, Arabic 101): a wrong letter next to the
#: right one is a slip of the finger; "duchu" for "dachu" or الحريرة for الحريقة is another word.
LAYOUTS = (
    ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    ("azertyuiop", "qsdfghjklm", "wxcvbn"),
    ("qwertzuiop", "asdfghjkl", "yxcvbnm"),
    ("ضصثقفغعهخحجد", "شسيبلاتنمكط", "ئءؤرلاىةوزظ"),
)
VOWELS = frozenset("aeiouyاوىي")


def _neighbours() -> dict[str, frozenset[str]]:
    near: dict[str, set[str]] = {}
    for rows in LAYOUTS:
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                around = {(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)}
                near.setdefault(ch, set()).update(rows[i][j] for i, j in around
                                                  if 0 <= i < len(rows) and 0 <= j < len(rows[i]))
    return {ch: frozenset(others) for ch, others in near.items()}


NEAR = _neighbours()


def slip(token: str, word: str) -> bool:
    """Could ``token`` be ``word`` mistyped? Letters left out, doubled, added or swapped, or a wrong letter
    next to the right one on a keyboard (or one vowel for another in a long word: "ambulence")."""
    ops = [op for op in Levenshtein.editops(token, word) if op.tag == "replace"]
    i = 0
    while i < len(ops):
        s, d = ops[i].src_pos, ops[i].dest_pos
        if (i + 1 < len(ops) and (ops[i + 1].src_pos, ops[i + 1].dest_pos) == (s + 1, d + 1)
                and token[s] == word[d + 1] and token[s + 1] == word[d]):
            i += 2  # two letters swapped
            continue
        a, b = token[s], word[d]
        if not (b in NEAR.get(a, ()) or (a in VOWELS and b in VOWELS and len(word) >= 7)):
            return False
        i += 1
    return True


class Corrector:
    """Reads typos of ``words`` (folded words), leaving ``known`` words (and ``words``) as they are."""

    def __init__(self, words: Iterable[str], known: Iterable[str] = ()):
        every = frozenset(words)
        self.words = frozenset(w for w in every if len(w) >= MIN_LENGTH and w.isalpha())
        self.known = frozenset(known) | every  # "niet" is no typo of "niets"
        self.index: dict[tuple[str, int], list[str]] = {}
        for word in self.words:
            self.index.setdefault((word[0], len(word)), []).append(word)
        self._seen: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def candidates(self, token: str) -> tuple[str, ...]:
        """The list words ``token`` may be a typo of (all at the smallest distance, the same length
        first: "tere" -> ("terre", "there")), or ()."""
        if len(token) < MIN_LENGTH - 1 or token in self.known or not token.isalpha():
            return ()
        found = self._seen.get(token)
        if found is not None:
            return found
        limit = allowed(len(token))
        choices = [w for n in range(len(token) - limit, len(token) + limit + 1)
                   for w in self.index.get((token[0], n), ())]
        near = extract(token, choices, scorer=OSA.distance, score_cutoff=limit, limit=None) if choices else []
        scored = [(w, d) for w, d, _i in near if d <= allowed(len(w)) and slip(token, w)]
        best = min((d for _w, d in scored), default=None)
        found = tuple(sorted((w for w, d in scored if d == best), key=lambda w: (abs(len(w) - len(token)), w)))
        with self._lock:
            if len(self._seen) >= CACHE:
                self._seen.clear()
            self._seen[token] = found
        return found

    def word(self, token: str) -> str | None:
        """The list word ``token`` is most likely a typo of, or None."""
        found = self.candidates(token)
        return found[0] if found else None

    def correct(self, folded: str) -> str | None:
        """The folded text with its typos read as list words; None when there was nothing to read."""
        return next(self.readings(folded), None)

    def readings(self, folded: str, most: int = 8) -> Iterator[str]:
        """The text with its typos read as list words: the likeliest reading first, then each other
        candidate of each word ("par tere" -> "par terre", "par there"), at most ``most`` readings."""
        tokens = folded.split()
        options = [(i, self.candidates(t)) for i, t in enumerate(tokens)]
        options = [(i, found) for i, found in options if found]
        if not options:
            return
        first = list(tokens)
        for i, found in options:
            first[i] = found[0]
        yield " ".join(first)
        given = 1
        for i, found in options:
            for other in found[1:]:
                if given >= most:
                    return
                reading = list(first)
                reading[i] = other
                given += 1
                yield " ".join(reading)
