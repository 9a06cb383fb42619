"""Names of things shown in many places: categories, times, request states."""
from __future__ import annotations

from handlers.i18n import N_, _, format_day, fragment, speaking
from models import HelpRequest
from models.privacy import REDACTED

CATEGORY_LABELS = {
    "shopping": N_("Shopping & errands"),
    "lift": N_("A ride (lift)"),
    "repair": N_("A small repair"),
    "company": N_("Company & a visit"),
    "pets": N_("Pets & plants"),
    "paperwork": N_("Papers & digital"),
    "other": N_("Something else"),
}
OTHER, THIS_WEEK = "other", "week"
CATEGORY_ICONS = {"shopping": "🛒", "lift": "🚗", "repair": "🔧", "company": "☕", "pets": "🐈",
                  "paperwork": "📄", "other": "🤝"}

WHEN_LABELS = {
    "today": N_("Today"),
    "tomorrow": N_("Tomorrow"),
    "week": N_("This week"),
    "date": N_("On a date"),
}

STATUS_LABELS = {
    "open": N_("waiting for a volunteer"),
    "claimed": N_("a volunteer is helping"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
    "referred": N_("passed on to the coordinator"),
    "expired": N_("expired"),
}

#: Languages a volunteer may speak, each in its own name (not translated on purpose): the ten
#: buurtbot speaks, and those it only recognises (a message in one goes to volunteers who speak it).
SPOKEN = {"nl": "Nederlands", "fr": "Français", "en": "English", "ar": "العربية", "tr": "Türkçe",
          "es": "Español", "pl": "Polski", "ro": "Română", "pt": "Português", "it": "Italiano",
          "el": "Ελληνικά", "bg": "Български", "ru": "Русский", "uk": "Українська", "ln": "Lingála",
          "ber": "Tamaziɣt"}


ROLE_LABELS = {
    "resident": N_("resident"),
    "volunteer": N_("volunteer"),
    "coordinator": N_("coordinator"),
    "partner": N_("partner"),
    "key_figure": N_("key figure"),
}

VOLUNTEER_STATUS_LABELS = {
    "pending": N_("waiting for approval"),
    "approved": N_("approved"),
    "paused": N_("paused"),
    "declined": N_("not added"),
}


def label(table: dict[str, str], code: str | None, fallback: str) -> str:
    """The translated label of a code; never a KeyError on an unexpected value."""
    return _(table.get(code or "", table[fallback]))


def category(code: str) -> str:
    return f"{CATEGORY_ICONS.get(code, '')} {label(CATEGORY_LABELS, code, fallback=OTHER)}".strip()


def when(req: HelpRequest) -> str:
    if req.when_kind == "date" and req.due_date:
        return format_day(req.due_date)
    if req.due_date and req.when_kind in ("today", "tomorrow"):
        return format_day(req.due_date)
    return label(WHEN_LABELS, req.when_kind, fallback=THIS_WEEK)


def requester_name(req: HelpRequest) -> str:
    """Whom the help is for: the neighbour a coordinator asked for, or the requester."""
    return req.on_behalf_of or (req.requester.first_name if req.requester else "")


def request_line(req: HelpRequest, with_name: bool = True) -> str:
    """One request as a volunteer may see it before claiming: first name and street only."""
    who = requester_name(req) if with_name else ""
    where = req.street or ""
    head = " · ".join(x for x in (category(req.category), when(req)) if x)
    tail = ", ".join(x for x in (who, where) if x)
    text = f"{fragment(f'#{req.id}')} {head}"  # fragment: isolated in a right-to-left language
    if tail:
        text += f" ({fragment(tail)})"
    if req.description:
        text += f"\n“{fragment(req.description[:300])}”"
    return text


def readable(text: str, language: str | None) -> str:
    """A stored message as a person reads it: an erased one says so in their language, not
    with the storage marker ``[erased]``."""
    if text != REDACTED:
        return text
    with speaking(language):
        return _("(erased)")
