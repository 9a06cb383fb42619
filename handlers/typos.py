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
from collections.abc import Iterable

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

#: Shorter words are left alone: one keystroke turns too many short words into others.
MIN_LENGTH = 5
#: How many typos a word of this length may have (and still be read as the list's word).
LONG = 8
CACHE = 50_000


def allowed(length: int) -> int:
    return 1 if length < LONG else 2


class Corrector:
    """Reads typos of ``words`` (folded words), leaving ``known`` words (and ``words``) as they are."""

    def __init__(self, words: Iterable[str], known: Iterable[str] = ()):
        every = frozenset(words)
        self.words = frozenset(w for w in every if len(w) >= MIN_LENGTH and w.isalpha())
        self.known = frozenset(known) | every  # "niet" is no typo of "niets"
        self.index: dict[tuple[str, int], list[str]] = {}
        for word in self.words:
            self.index.setdefault((word[0], len(word)), []).append(word)
        self._seen: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def word(self, token: str) -> str | None:
        """The list word ``token`` is a typo of, or None."""
        if len(token) < MIN_LENGTH - 1 or token in self.known or not token.isalpha():
            return None
        found = self._seen.get(token, "")
        if found != "":
            return found
        limit = allowed(len(token))
        choices = [w for n in range(len(token) - limit, len(token) + limit + 1)
                   for w in self.index.get((token[0], n), ())]
        best = extractOne(token, choices, scorer=OSA.distance, score_cutoff=limit) if choices else None
        found = best[0] if best is not None and best[1] <= allowed(len(best[0])) else None
        with self._lock:
            if len(self._seen) >= CACHE:
                self._seen.clear()
            self._seen[token] = found
        return found

    def correct(self, folded: str) -> str | None:
        """The folded text with its typos read as list words; None when there was nothing to read."""
        tokens = folded.split()
        changed = False
        for i, token in enumerate(tokens):
            found = self.word(token)
            if found is not None:
                tokens[i], changed = found, True
        return " ".join(tokens) if changed else None
