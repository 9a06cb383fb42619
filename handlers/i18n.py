"""Translations: one gettext catalog per language, one formatting locale per language.

The current language is a context variable, so a flow can speak to the sender in theirs and
notify a volunteer in the volunteer's (``with speaking(volunteer.language): ...``). Catalogs are
read from ``locales/<lang>/LC_MESSAGES/messages.mo``; when the compiled file is missing (a
fresh clone) the ``.po`` is compiled in memory with Babel, so the bot runs from any directory
without a build step. Which languages exist, and their locales, is data (handlers/lexicon.py).
"""
from __future__ import annotations

import contextvars
import io
import re
import unicodedata
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from handlers import lexicon
from handlers.lexicon import CODES, DIRECTIONS, FORMAT_LOCALES, LANGUAGES  # noqa: F401  (the languages, from data)
from models.base import TZ

DOMAIN = "messages"
DEFAULT_LANGUAGE = "nl"

_current = contextvars.ContextVar("buurtbot_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


@lru_cache(maxsize=None)
def catalog(language: str) -> NullTranslations:
    base = lexicon.directory() / language / "LC_MESSAGES"
    po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if po.exists():
        with po.open("rb") as fp:
            cat = read_po(fp, locale=language)
        buf = io.BytesIO()
        write_mo(buf, cat)
        buf.seek(0)
        return Translations(buf, domain=DOMAIN)
    return NullTranslations()


lexicon.on_change(catalog.cache_clear)


def normalise_language(code: str | None) -> str | None:
    """The language that serves a language tag ("pt-BR", "ar-ma", "nl_BE", Telegram's
    ``language_code``): the longest prefix of the tag that a language.txt claims (``codes:``, or
    the language's own code), else None -- the caller then uses the neighbourhood's or the default."""
    if not code or not isinstance(code, str):
        return None
    parts = code.strip().lower().replace("_", "-").split("-")
    while parts:
        hit = CODES.get("-".join(parts))
        if hit is not None:
            return hit
        parts.pop()
    return None


def current_language() -> str:
    return _current.get()


@contextmanager
def speaking(language: str | None):
    token = _current.set(normalise_language(language) or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


#: Unicode isolates (FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE): what is inside keeps its own direction.
FSI, PDI = "\u2068", "\u2069"
#: RIGHT-TO-LEFT MARK: a line that starts with a digit ("1. ...") still reads right to left.
RLM = "\u200f"


def isolate(value: object) -> str:
    """``value`` as a fragment that keeps its own direction inside right-to-left text: a name,
    a phone number, an address, a /command. Line by line (a line break ends an isolate), and
    never twice."""
    lines = str(value).split("\n")
    return "\n".join(line if not line.strip() or (line.startswith(FSI) and line.endswith(PDI))
                     else FSI + line + PDI for line in lines)


#: A /command written into a translation ("/start"): outside an isolate its slash would drift to its right.
_COMMAND = re.compile(r"(?<![\w/:.])/[A-Za-z]\w*")


def fill(text: str, params: dict, language: str | None) -> str:
    """A translated text with its placeholders filled as ``language`` needs (tests render
    expected texts with it: tests/flowkit.T)."""
    token = _current.set(language or DEFAULT_LANGUAGE)
    try:
        return _format(text, params)
    finally:
        _current.reset(token)


def fragment(value: object) -> str:
    """A name, street, "#12" or typed text put into a line by code rather than by a msgid's
    placeholder: isolated in a right-to-left language, as _() isolates its values."""
    return isolate(value) if DIRECTIONS.get(_current.get()) == "rtl" else str(value)


def _format(text: str, params: dict) -> str:
    """The ONE place placeholders are filled. In a right-to-left language every value is
    isolated, so "Fatima", "+32 470 12 34 56", "Rue de la Loi 16" and "/menu" stay whole and in
    order inside Arabic; so is a /command written into the translation, and a "#" written
    before a placeholder ("#{id}") goes inside with it."""
    if DIRECTIONS.get(_current.get()) != "rtl":  # the current language is always a normalised code
        return text.format(**params) if params else text
    text = _COMMAND.sub(lambda m: FSI + m.group(0) + PDI, text)
    if params:
        text = text.format(**{k: isolate(v) for k, v in params.items()})
    return text.replace("#" + FSI, FSI + "#")


def _(message: str, **params) -> str:
    return _format(catalog(_current.get()).gettext(message), params)


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    """A count in words: ``ngettext("One task", "{n} tasks", n)``; the catalog holds as many
    forms as the language has (Arabic six, Polish three)."""
    return _format(catalog(_current.get()).ngettext(singular, plural, n), {"n": n, **params})


def pgettext(context: str, message: str, **params) -> str:
    return _format(catalog(_current.get()).pgettext(context, message), params)


def format_day(value: date | datetime) -> str:
    """A date as people say it in their language: "donderdag 26 november", "jueves, 26 de
    noviembre", "26 Kasım Perşembe"; a moment gets its time, in Brussels ("... 00:30")."""
    return _format_day(value, FORMAT_LOCALES.get(_current.get(), _current.get()))


def format_time(value: datetime) -> str:
    """A moment's time of day in Brussels, "14:30" (the 24-hour clock every catalog uses)."""
    return value.astimezone(TZ).strftime("%H:%M")


#: The year of a CLDR date pattern, with what ties it to the rest (" 'de' y", ", y", "y'г'.").
_YEAR = re.compile(r"(?:\s*'de')?[\s,،]*\by+\b(?:[\s\u202f]*'[^']*'\.?)?|\by+\b[^\sEMd]*[\s,،]*")


@lru_cache(maxsize=64)
def day_pattern(loc: str) -> str:
    """The locale's own full date pattern without the year: the order of weekday, day and month
    and the words between them are the language's (CLDR), not ours."""
    return _YEAR.sub("", Locale.parse(loc).date_formats["full"].pattern, count=1).strip(" ,،")


@lru_cache(maxsize=4096)
def _format_day(value: date | datetime, loc: str) -> str:
    # Lists repeat the same few days: Babel's formatting is worth caching on a hot path.
    if isinstance(value, datetime):
        return babel_dates.format_datetime(value, day_pattern(loc) + " HH:mm", tzinfo=TZ, locale=loc)
    return babel_dates.format_date(value, day_pattern(loc), locale=loc)


def today() -> date:
    return datetime.now(TZ).date()


def rtl_lines(text: str) -> str:
    """Right-to-left text as a channel shows it: a line that does not start with a right-to-left
    letter (an isolated name, a number, "1. ...") gets a RIGHT-TO-LEFT MARK first, so that no
    app lays an Arabic line out left to right because of its first word."""
    return "\n".join(RLM + line if line and unicodedata.bidirectional(line[0]) not in ("R", "AL") else line
                     for line in text.split("\n"))


def is_rtl(language: str | None) -> bool:
    """Right-to-left languages (language.txt ``direction: rtl``) get isolated fragments,
    marked option lines and reversed button rows."""
    return DIRECTIONS.get(normalise_language(language) or "", "ltr") == "rtl"
