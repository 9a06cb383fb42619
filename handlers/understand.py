"""Understanding free text as ONE pure function: normalise -> the language -> signals -> request or
offer -> the kind of help -> when. No database, no network, nothing downloaded: flows,
``buurtbot nlu`` and the tests call the same function with the same answer.

All words are data: ``locales/lexicon/<lang>/request.txt``, ``offer.txt``, ``help/<category>.txt``,
``when.txt`` and the signal files (see locales/lexicon/README.md). The bot proposes what it
understood and the person confirms; nothing here decides alone -- except that emergencies favour
recall (a false alarm costs a kind sentence).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from handlers import keywords, language_id, lexicon, typos, when as when_reader

BRUSSELS = ZoneInfo("Europe/Brussels")
#: What a message asks is read from its first characters (a Telegram message holds 4096).
LONGEST = 4096
#: models.people.CATEGORIES without "other" (the answer when a request names no kind of help). Company words
#: ("walk", "talk") also come with other help: on a tie, the other category wins ("walk my dog" -> pets).
CATEGORIES = ("shopping", "lift", "repair", "company", "pets", "paperwork")


@dataclass(frozen=True)
class Understanding:
    language: str                 # one of the bot's languages, or "other"
    other_language: str | None    # "ru", "uk", "bg", "el", "ln", "ber" (or None) when language == "other"
    kind: str                     # "request" | "offer" | "other"
    category: str | None          # a models.people.CATEGORIES code, or None
    when: date | None             # the day meant, Europe/Brussels, relative to `today`
    when_kind: str | None         # "today" | "tomorrow" | "date" | "week" or None
    part_of_day: str | None       # "morning" | "afternoon" | "evening" | None
    signals: frozenset[str]       # emergency, suicide, concern, company, professional
    confidence: float             # of the language (0..1)

    @property
    def urgent(self) -> bool:
        return bool(self.signals & keywords.URGENT)

    @property
    def referral(self) -> bool:
        return "professional" in self.signals

    def as_json(self) -> dict:
        return {
            "language": self.language, "kind": self.kind, "category": self.category,
            "when": self.when.isoformat() if self.when else None, "urgent": self.urgent, "referral": self.referral,
            "other_language": self.other_language, "when_kind": self.when_kind, "part_of_day": self.part_of_day,
            "signals": sorted(self.signals), "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class Pattern:
    """One language's phrases of one kind, and the phrases that do not count ("-ik heb geen tijd")."""

    pattern: re.Pattern
    excluded: re.Pattern | None

    def finditer(self, folded: str):
        if self.excluded is not None:
            folded = self.excluded.sub(lambda m: " " * len(m.group(0)), folded)  # positions kept
        return self.pattern.finditer(folded)


@dataclass(frozen=True)
class Phrases:
    """Compiled phrase patterns: kind ("request", "offer", a category) -> lang -> pattern."""

    kinds: dict[str, dict[str, Pattern]]


def _compile(phrases: list[str]) -> Pattern | None:
    pattern, excluded = keywords.alternation(phrases), keywords.exclusion(phrases)
    return Pattern(re.compile(pattern), re.compile(excluded) if excluded else None) if pattern else None


@lru_cache(maxsize=4)
def phrases(lex: lexicon.Lexicon) -> Phrases:
    kinds: dict[str, dict[str, Pattern]] = {}
    for name in ("request", "offer", "thanks"):
        kinds[name] = {lang: p for lang, ph in lex.words.get(name, {}).items() if (p := _compile(ph))}
    for category in CATEGORIES:
        kinds[category] = {lang: p for lang, ph in lex.help.get(category, {}).items() if (p := _compile(ph))}
    return Phrases(kinds)


@lru_cache(maxsize=4)
def _typo_readers(lex: lexicon.Lexicon) -> dict[str, typos.Corrector]:
    """lang -> reads typos of that language's request, offer, help and when words ("boodschapen")."""
    own: dict[str, set[str]] = {}
    for table in (lex.words.get("request", {}), lex.words.get("offer", {}), *lex.help.values()):
        for lang, phrases in table.items():
            for phrase in phrases:
                exact, prefixes = lexicon.phrase_words(phrase)
                own.setdefault(lang, set()).update([*exact, *prefixes])  # "computr" -> "computer" (computer*)
    for lang, keys in lex.when.items():
        for key, phrases in keys.items():
            if key != "not":
                for phrase in phrases:
                    own.setdefault(lang, set()).update(lexicon.phrase_words(phrase)[0])
    known = set(language_id.vocabulary(lex).exact) | own.get(lexicon.ANY, set())  # "psonia" is no typo
    return {lang: typos.Corrector(words, known) for lang, words in own.items()}


def _corrected(folded: str, lang: str) -> str:
    reader = _typo_readers(lexicon.current()).get(lang)
    return (reader.correct(folded) if reader is not None else None) or folded


def _matches(table: dict[str, Pattern], folded: str, langs: list[str]) -> list[re.Match]:
    return [m for lang in langs if (p := table.get(lang)) is not None for m in p.finditer(folded)]


#: Signals that make a message about someone's safety, not a task: a thing it names ("rolluiken",
#: "medicatie") makes no request unless the message also asks in words ("kan iemand ...").
WORRIES = frozenset({"emergency", "suicide", "concern"})


def _kind_and_category(folded: str, langs: list[str], worry: bool = False) -> tuple[str, str | None, bool]:
    """The kind and category, and whether the words said outright that nothing is asked (thanks, a worry)."""
    table = phrases(lexicon.current()).kinds
    offers = _matches(table["offer"], folded, langs)
    requests = _matches(table["request"], folded, langs)
    found: dict[str, tuple[int, int, int]] = {}  # category -> (matches, specific, -first position)
    for category in CATEGORIES:
        hits = _matches(table[category], folded, langs)
        if hits:
            found[category] = (len(hits), category != "company", -min(m.start() for m in hits))
    category = max(found, key=found.get) if found else None
    if offers and len(offers) >= len(requests):  # "Kan ik iets meebrengen?" offers; a tie is an offer too
        kind = "offer"
    elif not requests and category and (worry or _matches(table["thanks"], folded, langs)):
        # "Bedankt voor de boodschappen gisteren!" names shopping and asks nothing; a worry ("she fell in the
        # garden") names no help at all.
        return "other", None if worry else category, True
    elif requests or category:
        kind = "request"
    else:
        kind = "other"
    if kind != "other" and category is None:
        category = "other"
    return kind, category, False


def understand(text: str, language: str | None = None, today: date | None = None) -> Understanding:
    """``language``: the person's own (a hint for short or ambiguous texts). ``today``: injected clock."""
    # Lone surrogates (bytes that were no UTF-8, read with surrogateescape) would break lingua.
    text = (text or "").encode("utf-8", "replace").decode("utf-8")
    today = today or datetime.now(BRUSSELS).date()
    signals = frozenset(keywords.signals(text)) if text.strip() else frozenset()  # all of it, however long
    text = text[:LONGEST]
    folded = lexicon.fold_words(text)
    tokens = folded.split()
    guess = language_id.identify(text, tokens, language)
    unsure = guess.confidence < 0.8 or guess.language == "other"  # then the person's own language's words too
    langs = [guess.language if guess.language != "other" else (guess.other_language or ""),
             *([language] if language and unsure else []), lexicon.ANY]
    read = _corrected(folded, langs[0]) if tokens else folded
    worry = bool(signals & WORRIES)
    kind, category, settled = _kind_and_category(read, langs, worry)
    if category in (None, "other") and guess.also and not settled:  # mixed: "Allee, qqn pour mes courses?"
        also_kind, also_category, _settled = _kind_and_category(folded, list(guess.also), worry)
        kind = kind if kind != "other" else also_kind
        category = also_category if also_category not in (None, "other") else category
        category = "other" if category is None and kind != "other" else category
    if kind == "other" and "professional" in signals and "?" in text and not settled:
        kind, category = "request", category or "other"  # "Where can I find a nurse at home?" asks for a referral
    found = when_reader.read(text, read, [*langs, *guess.strong], today)  # Spanish "hoi" (hoy) is Dutch "hi"
    return Understanding(
        language=guess.language, other_language=guess.other_language, kind=kind, category=category,
        when=found.day, when_kind=found.kind, part_of_day=found.part,
        signals=signals, confidence=guess.confidence,
    )


def warm() -> None:
    """Compile the phrases, typo lists and date words now (at import, and again for a new locales
    directory), never while a message waits. lingua's models: language_id.preload()."""
    lex = lexicon.current()
    phrases(lex)
    _typo_readers(lex)
    when_reader.readers(lex)


lexicon.on_change(warm)
warm()
