"""The days and the time of a weekly plan, as people type them and as they are shown.

"mon,thu", "ma,do", "lun,jeu", "maandag en donderdag", "le lundi et le jeudi" -> [0, 3]; "10:00",
"10u", "14h30", "10" -> "10:00". Weekday names and their abbreviations come from CLDR (Babel)
for the person's language and for Dutch, French and English, which every coordinator in
Brussels may type; the chat flow and the command line read them here, in one place.
"""
from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale

from handlers.i18n import FORMAT_LOCALES, current_language
from handlers.lexicon import fold_words

#: Read in every case (Brussels): what a coordinator or a neighbour may type whatever their language.
BASE_LANGUAGES = ("nl", "fr", "en")
_TIME = re.compile(r"^\s*(\d{1,2})(?:\s*(?:[:.hu]|uur|heures?)\s*(\d{2})?)?\s*(?:h|u|uur|heures?)?\s*$")


@lru_cache(maxsize=32)
def _day_words(language: str) -> dict[str, int]:
    try:
        loc = Locale.parse(FORMAT_LOCALES.get(language, language))
    except Exception:  # noqa: BLE001 - a language without CLDR data: the base languages still work
        return {}
    words: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in loc.days.get(context, {}).get(width, {}).items():
                words.setdefault(fold_words(name), number)
    return words


def read_days(text: str, languages: tuple[str, ...] = ()) -> tuple[list[int], list[str]]:
    """(the weekdays named, the words that named no day). Connecting words ("en", "et", "and",
    "le") are ignored by the caller's judgement: the chat accepts leftovers, the command line not."""
    tables = [_day_words(lang) for lang in dict.fromkeys((*languages, *BASE_LANGUAGES))]
    found, unknown = set(), []
    for token in fold_words(text.replace(",", " ").replace("+", " ")).split():
        number = next((t[token] for t in tables if token in t), None)
        if number is None:
            unknown.append(token)
        else:
            found.add(number)
    return sorted(found), unknown


def read_time(text: str) -> str | None:
    """A time of day typed as "10:00", "9.30", "14u", "14h30" or "10" -> "HH:MM"; None otherwise."""
    m = _TIME.match((text or "").strip().lower())
    if m is None:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2) or 0)
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def weekday_name(number: int) -> str:
    """Monday is 0, in the current language (CLDR)."""
    language = current_language()
    try:
        return Locale.parse(FORMAT_LOCALES.get(language, language)).days["format"]["wide"][number]
    except Exception:  # noqa: BLE001
        return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[number]


def day_names(days: list[int]) -> str:
    """The days in the current language: "maandag, donderdag"."""
    return ", ".join(weekday_name(d) for d in sorted(days))


def short_days(days: list[int]) -> str:
    """For the command line: "mon,thu"."""
    return ",".join(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d] for d in sorted(days))
