"""Signals in free text, checked in every language whatever the person's own: emergencies
(112 at once), thoughts of suicide (1813 too), worries about a neighbour (coordinator only),
a wish for more company (an offer of a call or a visit, noted for the coordinator only) and
needs that professionals may serve better (the person is asked; nothing is diverted).

The phrases are data (``locales/lexicon/<lang>/<kind>.txt``, see handlers/lexicon.py), read
and extended by buurtwerkers, not data scientists. In a phrase ``a/b`` is either word, ``*``
is any one word and ``...`` up to five words; a line starting with ``-`` names a phrase that
does NOT count ("not an emergency"). False alarms cost a kind sentence; a missed emergency
costs more -- but a cat on the floor is not one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from handlers import lexicon
from handlers.lexicon import fold_words
from handlers.typos import Corrector

#: The kinds that are answered at once, whatever else is going on (and never throttled).
URGENT = frozenset({"emergency", "suicide"})
#: Typos are read in this many words of a message (a long message's start; whole words are matched anyway).
TYPO_WORDS = 1000
#: Commands that protect a person: they pass the flood limiter, typed or slashed.
PROTECTIVE_COMMANDS = ("stop", "delete", "start")


def phrase_pattern(phrase: str) -> str | None:
    """One phrase as a regular expression over ``fold_words`` text."""
    out, gap = "", False
    for token in phrase.split():
        if token == "...":
            gap = True
            continue
        if token == "*":
            piece = r"\S+"
        else:
            words = [word_pattern(t) for t in token.split("/")]
            words = [w for w in words if w]
            if not words:
                continue
            piece = "(?:" + "|".join(words) + ")" if len(words) > 1 else words[0]
        if out:
            out += r" (?:\S+ ){0,5}" if gap else " "
        out, gap = out + piece, False
    return out or None


def word_pattern(word: str) -> str:
    """One alternative of a phrase token: ``boodschap*`` is a prefix (boodschap, boodschappen, ...)."""
    prefix = len(word) > 1 and word.endswith("*")
    folded = fold_words(word)
    if not folded:
        return ""
    piece = re.escape(folded).replace(r"\ ", " ")
    return piece + r"\w*" if prefix else piece


def whole_or_phrase(phrase: str) -> str | None:
    """``=phrase`` counts only as the whole message: "Помогите!" alone is a cry for help, while
    "помогите с покупками" (help me with the shopping) is a request."""
    if phrase.startswith("="):
        inner = phrase_pattern(phrase[1:])
        return f"^{inner}$" if inner else None
    return phrase_pattern(phrase)


def alternation(phrases: list[str]) -> str | None:
    patterns = [p for p in (whole_or_phrase(ph) for ph in phrases if not ph.startswith("-")) if p]
    return r"\b(?:" + "|".join(patterns) + r")\b" if patterns else None


def exclusion(phrases: list[str]) -> str | None:
    patterns = [p for p in (phrase_pattern(ph[1:]) for ph in phrases if ph.startswith("-")) if p]
    return r"\b(?:" + "|".join(patterns) + r")\b" if patterns else None


def anchor(phrase: str) -> set[str] | None:
    """Words of which a text must contain one for ``phrase`` to match: the alternatives of its
    most telling word (the one whose shortest form is longest). None: no such word (always try)."""
    best: set[str] | None = None
    for token in phrase.split():
        if token in ("...", "*") or "*" in token:  # a prefix matches words no set can list
            continue
        words = {fold_words(w) for w in token.split("/")} - {""}
        if not words or any(" " in w for w in words):
            continue
        if best is None or min(map(len, words)) > min(map(len, best)):
            best = words
    return best


@dataclass(frozen=True)
class Kind:
    pattern: re.Pattern | None  # every language at once
    excluded: re.Pattern | None
    by_language: dict[str, re.Pattern]
    #: A text that has none of these words cannot match (None: always try). Most messages
    #: share no word with a kind at all: one set intersection instead of a regex search.
    anchors: frozenset[str] | None

    def search(self, folded: str, words: frozenset[str], pattern: re.Pattern | None = None) -> bool:
        pattern = pattern or self.pattern
        if pattern is None or (self.anchors is not None and self.anchors.isdisjoint(words)):
            return False
        if self.excluded is not None:
            folded = self.excluded.sub(" | ", folded)
        return pattern.search(folded) is not None


@lru_cache(maxsize=4)
def compiled(lex: lexicon.Lexicon) -> dict[str, Kind]:
    kinds = {}
    for kind in lexicon.SIGNAL_KINDS:
        langs = lex.words.get(kind, {})
        every = [ph for phrases in langs.values() for ph in phrases]
        pattern, excluded = alternation(every), exclusion(every)
        by_language = {lang: re.compile(p) for lang, phrases in langs.items() if (p := alternation(phrases))}
        anchors: set[str] | None = set()
        for phrase in every:
            found = anchor(phrase) if not phrase.startswith("-") else set()
            anchors = None if found is None or anchors is None else anchors | found
        kinds[kind] = Kind(re.compile(pattern) if pattern else None, re.compile(excluded) if excluded else None,
                           by_language, frozenset(anchors) if anchors is not None else None)
    return kinds


@lru_cache(maxsize=16)
def folded_words(text: str) -> tuple[str, frozenset[str]]:
    """The text as phrases are matched, and its words. The limiter and the router ask for the
    same message one after the other: a small cache, so that little text stays in memory."""
    folded = fold_words(text)
    return folded, frozenset(folded.split())


@lru_cache(maxsize=4)
def urgent_typos(lex: lexicon.Lexicon) -> Corrector:
    """Typos of the words of emergency and suicide phrases ("ambulnce", "bewustelos", "inconcient").
    A word of any other lexicon file is never read as one of them."""
    urgent: set[str] = set()
    known: set[str] = set()
    for name, langs in lex.words.items():
        for phrases in langs.values():
            for phrase in phrases:
                if not phrase.startswith("-"):
                    (urgent if name in URGENT else known).update(lexicon.phrase_words(phrase)[0])
    for table in (*lex.help.values(), *lex.when.values()):
        for phrases in table.values():
            for phrase in phrases:
                known.update(lexicon.phrase_words(phrase)[0])
    return Corrector(urgent, known - urgent)


def _urgent_with_typos(folded: str, kinds: dict[str, Kind]) -> set[str]:
    """Emergencies favour recall: the urgent kinds once more, with typos read as the words they miss."""
    for reading in urgent_typos(lexicon.current()).readings(" ".join(folded.split()[:TYPO_WORDS])):
        words = frozenset(reading.split())
        found = {name for name in URGENT if name in kinds and kinds[name].search(reading, words)}
        if found:
            return found
    return set()


def signals(text: str) -> set[str]:
    """Which kinds of signal a text carries, e.g. {"emergency"}; typos of urgent words count too."""
    folded, words = folded_words(text)
    kinds = compiled(lexicon.current())
    found = {name for name, kind in kinds.items() if kind.search(folded, words)}
    if folded and not found & URGENT:
        found |= _urgent_with_typos(folded, kinds)
    return found


def languages_of(text: str, kinds: set[str] | frozenset[str] = URGENT) -> list[str]:
    """The languages whose words of these kinds the text uses, in the order the bot offers its
    languages: "Ma voisine est inconsciente" -> ["fr"]; "ambulance!" -> ["nl", "fr", "en"].
    Words of no particular language ("bel 112") name none."""
    folded, words = folded_words(text)
    found = set()
    for name in kinds:
        kind = compiled(lexicon.current()).get(name)
        if kind is None:
            continue
        found |= {lang for lang, pattern in kind.by_language.items()
                  if lang != lexicon.ANY and kind.search(folded, words, pattern)}
    return [code for code in lexicon.LANGUAGES if code in found]


def written_in(text: str, kinds: set[str] | frozenset[str] = URGENT) -> list[str]:
    """The languages a text is written in, judged by its words of these kinds that only one
    language has ("au secours" is French; "ambulance", in nl, fr and en alike, says nothing), the
    language with most such words first. None stands out: every matched language (languages_of).
    Shared by two or by nine lexicons, a word tells no language: with ten languages "all but one"
    would let a word of nl, fr and en count for each of them."""
    folded, _words = folded_words(text)
    score: dict[str, int] = {}
    for name in kinds:
        kind = compiled(lexicon.current()).get(name)
        if kind is None:
            continue
        langs = {lang: p for lang, p in kind.by_language.items() if lang != lexicon.ANY}
        searched = kind.excluded.sub(" | ", folded) if kind.excluded is not None else folded
        for lang, pattern in langs.items():
            for match in pattern.finditer(searched):
                if not any(p.fullmatch(match.group(0)) for other, p in langs.items() if other != lang):
                    score[lang] = score.get(lang, 0) + 1
    matched = languages_of(text, kinds)
    distinct = sorted((code for code in matched if score.get(code)), key=lambda code: -score[code])
    return distinct or matched


@lru_cache(maxsize=4)
def _protective(lex: lexicon.Lexicon) -> re.Pattern:
    words = {fold_words(w) for name in PROTECTIVE_COMMANDS for w in lex.commands.get(name, ())}
    words |= {fold_words(w) for file in ("optout", "optin") for phrases in lex.words.get(file, {}).values()
              for w in phrases}
    whole = "|".join(sorted((re.escape(w) for w in words if w), key=len, reverse=True))
    return re.compile(r"^(?:" + whole + r")(?: \S+)?$")


def protective(text: str) -> bool:
    """Must this message be handled even in a flood? An emergency or suicide word anywhere, or a
    whole message that is /stop, /delete, /start, STOP, START or their words in any language.
    A compiled regex over the folded text: no database, cheap enough to run on every message."""
    folded, words = folded_words(text)
    if not folded:
        return False
    if _protective(lexicon.current()).match(folded):
        return True
    kinds = compiled(lexicon.current())
    return any(kinds[k].search(folded, words) for k in URGENT) or bool(_urgent_with_typos(folded, kinds))


# Compiled at import (and again for a new directory), never while a message waits.
lexicon.on_change(lambda: (compiled(lexicon.current()), _protective(lexicon.current()),
                           urgent_typos(lexicon.current())))
compiled(lexicon.current())
_protective(lexicon.current())
urgent_typos(lexicon.current())
