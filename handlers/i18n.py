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
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache

from babel import dates as babel_dates
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from handlers import lexicon
from handlers.lexicon import FORMAT_LOCALES, LANGUAGES  # noqa: F401  (the one list of languages, from data)
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
    if not code:
        return None
    code = code.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def current_language() -> str:
    return _current.get()


@contextmanager
def speaking(language: str | None):
    token = _current.set(normalise_language(language) or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str, **params) -> str:
    text = catalog(_current.get()).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    text = catalog(_current.get()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def pgettext(context: str, message: str, **params) -> str:
    text = catalog(_current.get()).pgettext(context, message)
    return text.format(**params) if params else text


def format_day(value: date | datetime) -> str:
    """A date as people say it in their language: "donderdag 26 november"."""
    return _format_day(value, FORMAT_LOCALES[_current.get()])


@lru_cache(maxsize=4096)
def _format_day(value: date | datetime, loc: str) -> str:
    # Lists repeat the same few days: Babel's formatting is worth caching on a hot path.
    if isinstance(value, datetime):
        return babel_dates.format_datetime(value, "EEEE d MMMM HH:mm", tzinfo=TZ, locale=loc)
    return babel_dates.format_date(value, "EEEE d MMMM", locale=loc)


def today() -> date:
    return datetime.now(TZ).date()


def is_rtl(language: str | None) -> bool:
    """Right-to-left languages get reversed button rows and isolated Latin fragments."""
    return (language or "").split("-")[0] in {"ar", "he", "fa", "ur"}
