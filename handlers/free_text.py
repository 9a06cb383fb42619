"""What people type instead of pressing buttons, read once (handlers/understand.py) and turned
into something the flows can propose: the bot says what it understood and the person confirms.
Nothing here posts anything; the flows ask first.

Also the small pieces around language that free text brings up: a message in a language the bot
does not speak (its acknowledgement, from ``locales/lexicon/other/<code>.txt`` where one exists),
and the one light offer per conversation to switch to the language someone writes in."""
from __future__ import annotations

from babel import Locale, UnknownLocaleError
from sqlalchemy import select

from handlers import lexicon
from handlers.core import STEP_TTL, Context
from handlers.i18n import FORMAT_LOCALES, LANGUAGES, _, current_language, today
from handlers.lexicon import command_name, fold
from handlers.understand import Understanding, understand
from handlers.labels import OTHER
from models import Outbox
from models.people import CATEGORIES

#: The outbox purpose of the offer to switch languages: at most one per conversation (STEP_TTL).
LANGUAGE_HINT = "language-hint"
#: How sure the language must be before the bot suggests switching to it.
SWITCH_CONFIDENCE = 0.8
#: Kept for a newcomer until they answer the consent question (or /delete, or return after STEP_TTL).
KEPT_TEXT = 500


def understood(ctx: Context, text: str) -> Understanding:
    """The one reading of a typed message, with the person's own language as a hint."""
    own = ctx.person.language if ctx.person is not None else ctx.identity.language
    return understand(text, language=own, today=today())


def is_sentence(text: str) -> bool:
    """Words, not an answer: at least two of them, and not a number or a code."""
    folded = fold(text)
    return len(folded.split()) >= 2 and not folded.replace(" ", "").isdecimal()


def names_help(u: Understanding) -> bool:
    """The message asks or offers help (a thank-you that names the shopping does neither)."""
    return u.kind in ("request", "offer")


def named_category(u: Understanding) -> str | None:
    """The kind of help the words name, when it is one the ask flow offers by name ("other" names none)."""
    return u.category if u.category in CATEGORIES and u.category != OTHER else None


def kept(u: Understanding, text: str) -> dict | None:
    """What a newcomer's first message asked, kept until they join: only what makes it a
    request again (their words, the kind of help, when) -- nothing when it asked for nothing."""
    if u.language == "other":
        return {"kind": "other", "text": text[:KEPT_TEXT], "other": u.other_language}
    if not names_help(u):
        return None
    return {"kind": u.kind, "text": text[:KEPT_TEXT], "category": u.category, "when": u.when_kind,
            "due": u.when.isoformat() if u.when else None}


def when_of(u: Understanding) -> tuple[str | None, str | None]:
    """(when_kind, due date) as the ask flow stores them; (None, None) when nothing said when."""
    if u.when_kind == "week":
        return "week", None
    if u.when_kind in ("today", "tomorrow", "date") and u.when is not None:
        return u.when_kind, u.when.isoformat()
    return None, None


# ---- languages the bot does not speak ----------------------------------------------------------

def other_info(code: str | None) -> dict:
    """``name`` and ``ack`` of ``locales/lexicon/other/<code>.txt`` (read by handlers/lexicon.py); {} when none."""
    return lexicon.current().others.get(code or "", {})


def other_ack(code: str | None) -> str | None:
    """A short "thank you, someone who speaks your language will contact you" in that language."""
    return other_info(code).get("ack") or None


def language_name(code: str | None) -> str:
    """A language's name in the current language ("Russisch"), else its own name, else its code."""
    if not code:
        return "?"
    try:
        name = Locale.parse(FORMAT_LOCALES.get(current_language(), current_language())).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or other_info(code).get("name") or LANGUAGES.get(code) or code


# ---- another of the bot's languages than one's own -------------------------------------------

def suggest_language(ctx: Context, u: Understanding) -> None:
    """Someone writes in another of the bot's languages than the one they chose: their choice
    wins (the answer stays in it), and once per conversation the bot offers to switch."""
    p = ctx.person
    if p is None or u.language == p.language or u.language not in LANGUAGES or u.confidence < SWITCH_CONFIDENCE:
        return
    since = ctx.now - STEP_TTL
    asked = ctx.session.scalar(select(Outbox.id).where(
        Outbox.address == ctx.identity.address, Outbox.channel == ctx.identity.channel,
        Outbox.purpose == LANGUAGE_HINT, Outbox.created_at > since).limit(1))
    if asked is not None or any(o["purpose"] == LANGUAGE_HINT for o in ctx.outgoing):
        return
    ctx.say(_("Would you rather write in {language}? Type {command} to choose it.", language=language_name(u.language),
              command="/" + command_name("language", p.language)), purpose=LANGUAGE_HINT)

