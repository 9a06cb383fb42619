"""When a message means: "morgen", "après-demain", "Thursday morning", "volgende week dinsdag",
"12/12", "le 3 janvier" -> a day (relative to an injected ``today``) and a part of the day.

Our own small reader rather than ``dateparser``: dateparser finds dates in whole sentences only
with ``search_dates``, and that is slow -- measured with ``bench/nlu.py --dateparser`` (dateparser,
restricted to the bot's ten languages, on the development set): about 1 s for the first call,
then 43 messages/s for the dates alone, against >= 500 messages/s wanted for the whole
understanding. It also knows nothing of "volgende week dinsdag" (the Tuesday of next week). Here: the words of
``locales/lexicon/<lang>/when.txt`` plus Babel's CLDR names of weekdays and months for each
language, compiled once into regular expressions over folded text.

Rules (NLU.md): a bare weekday is the next such day strictly after today; "volgende week dinsdag"
is the Tuesday of next calendar week (Monday-Sunday); a date is the next one not in the past;
"deze week" gives no day, only the kind "week".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from handlers import lexicon
from handlers.keywords import phrase_pattern

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PARTS = ("morning", "afternoon", "evening")
KEYS = ("today", "tomorrow", "after_tomorrow", "this_week", "next_week", "next", "weekend", *PARTS, *WEEKDAYS)
#: Written like dates, meant otherwise: "24/7 beschikbaar", "1/2 uur".
NOT_DATES = frozenset({"24/7", "1/2", "1/3", "1/4", "3/4", "2/3"})
#: "2027-01-05", as a form or a calendar writes it.
ISO = re.compile(r"(?<![\d.,/-])\b(20\d\d)-(\d{1,2})-(\d{1,2})\b(?![.,/-]?\d)")
#: "12/12", "3.1", "05-01-2027" -- not inside a longer number ("2027-01-05", "appartement 3-2b" are
#: no day and month) nor a quantity ("1.5 kg", "2,5 l").
NUMERIC = re.compile(r"(?<![\d.,/-])\b(\d{1,2})\s?[/.-]\s?(\d{1,2})(?:\s?[/.-]\s?(\d{2,4}))?\b(?![.,/-]?\d)"
                     r"(?!\s?(?:kg|g|l|cl|ml|km|m|eur|euro|%|€)\b)")


@dataclass(frozen=True)
class When:
    day: date | None
    kind: str | None  # "today" | "tomorrow" | "date" | "week" | None
    part: str | None  # "morning" | "afternoon" | "evening" | None


NOTHING = When(None, None, None)


@dataclass(frozen=True)
class Reader:
    """One language's compiled words: key -> pattern; month pattern with the month's number."""

    keys: dict[str, re.Pattern]
    months: re.Pattern | None
    month_numbers: dict[str, int]
    excluded: re.Pattern | None


def _babel_names(locale_name: str) -> tuple[dict[str, list[str]], dict[str, int]]:
    """CLDR weekday names (wide, both contexts) and month names (wide and abbreviated) of a locale."""
    try:
        from babel import Locale

        loc = Locale.parse(locale_name)
    except Exception:  # an unknown locale: the lexicon's own words still work
        return {}, {}
    days: dict[str, list[str]] = {}
    for context in ("format", "stand-alone"):
        for number, name in loc.days.get(context, {}).get("wide", {}).items():
            days.setdefault(WEEKDAYS[number], []).append(name)
    months: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in loc.months.get(context, {}).get(width, {}).items():
                folded = lexicon.fold_words(name)
                if len(folded) >= 3:
                    months[folded] = number
    return days, months


def _pattern(phrases: list[str]) -> re.Pattern | None:
    parts = sorted({p for p in (phrase_pattern(ph) for ph in phrases) if p}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b") if parts else None


@lru_cache(maxsize=4)
def readers(lex: lexicon.Lexicon) -> dict[str, Reader]:
    out = {}
    for lang in lex.languages:
        words = lex.when.get(lang, {})
        days, months = _babel_names(lex.format_locales.get(lang, lang))
        keys = {}
        # "dinsdagochtend": a weekday with a part of the day glued on names both.
        glued = {(day, part): [d + p for d in days.get(day, []) for p in words.get(part, []) if " " not in d + p
                               and "'" not in p] for day in WEEKDAYS for part in PARTS}
        for key in KEYS:
            phrases = [*words.get(key, []), *days.get(key, [])]
            phrases += [w for (day, part), found in glued.items() if key in (day, part) for w in found]
            pattern = _pattern(phrases)
            if pattern is not None:
                keys[key] = pattern
        month_pattern = None
        if months:
            alternation = "|".join(re.escape(m) for m in sorted(months, key=len, reverse=True))
            month_pattern = re.compile(
                r"\b(?:(\d{1,2})(?:st|nd|rd|th|er|e|de|ste|o|º)?\s(?:(?:de|of|van)\s)?(" + alternation + r")\b"
                r"|(" + alternation + r")\s(\d{1,2})(?:st|nd|rd|th)?\b)")
        out[lang] = Reader(keys, month_pattern, months, _pattern(words.get("not", [])))
    return out


def _next_weekday(today: date, weekday: int, strictly_after: bool = True) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and strictly_after:
        ahead = 7
    return today + timedelta(days=ahead)


def _future(today: date, month: int, day: int, year: int | None = None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 100 else 2000 + year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def numeric_date(raw: str, today: date) -> date | None:
    """A day written in digits ("2027-01-05", "26/11", "26.11.2026"): the next one from ``today``
    when no year is given. The ask flow's date question reads typed dates with it too."""
    iso = ISO.search(raw)
    if iso and (found := _future(today, int(iso.group(2)), int(iso.group(3)), int(iso.group(1)))):
        return found
    numeric = next((m for m in NUMERIC.finditer(raw) if m.group(0).replace(" ", "") not in NOT_DATES), None)
    if numeric:
        d, m, y = int(numeric.group(1)), int(numeric.group(2)), numeric.group(3)
        return _future(today, m, d, int(y) if y else None) if 1 <= m <= 12 else None
    return None


def _read(raw: str, folded: str, reader: Reader, today: date) -> When:
    if reader.excluded is not None:
        folded = reader.excluded.sub(" | ", folded)
    hits = {key: m.start() for key, pattern in reader.keys.items() if (m := pattern.search(folded))}
    part = next((p for p in PARTS if p in hits), None)
    weekday = min((k for k in WEEKDAYS if k in hits), key=hits.get, default=None)
    found = numeric_date(raw, today)
    if found:
        return When(found, "date", part)
    if reader.months is not None:
        for match in reader.months.finditer(folded):
            day_text = match.group(1) or match.group(4)
            month = reader.month_numbers.get(match.group(2) or match.group(3))
            found = _future(today, month, int(day_text)) if month else None
            if found:
                return When(found, "date", part)
    days = sorted((hits[k], k) for k in ("today", "tomorrow", "after_tomorrow") if k in hits)
    said = days[0][1] if days else None  # "vandaag of morgen": the first day said
    if said == "after_tomorrow":
        return When(today + timedelta(days=2), "date", part)
    if weekday is not None:
        number = WEEKDAYS.index(weekday)
        if "next_week" in hits:
            monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
            return When(monday + timedelta(days=number), "date", part)
        if "today" in hits and number == today.weekday():
            return When(today, "today", part)
        return When(_next_weekday(today, number), "date", part)
    if said == "tomorrow":
        return When(today + timedelta(days=1), "tomorrow", part)
    if said == "today":
        return When(today, "today", part)
    if "weekend" in hits:
        return When(_next_weekday(today, 5, strictly_after=False), "date", part)
    if "this_week" in hits or "next_week" in hits:
        return When(None, "week", part)
    return When(None, None, part)


def read(text: str, folded: str, languages: list[str], today: date) -> When:
    """``text`` as written (for "12/12") and folded; the words of ``languages``, the first that names a
    day wins. Only the languages of the message: Spanish "hoi" (hoy) is a Dutch greeting."""
    all_readers = readers(lexicon.current())
    best = NOTHING
    for lang in [lang for lang in dict.fromkeys(languages) if lang in all_readers] or list(all_readers)[:1]:
        found = _read(text, folded, all_readers[lang], today)
        if found.kind is not None:
            return found if found.part or best.part is None else When(found.day, found.kind, best.part)
        if found.part and best.part is None:
            best = found
    return best
