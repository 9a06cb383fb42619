"""The local demo channel: one person plays several neighbours in a browser. It uses the same
dispatcher, database and outbox as the real channels; "delivery" is the page reading its inbox."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.i18n import LANGUAGES, N_, catalog, is_rtl, normalise_language
from handlers.labels import readable
from models import ChannelIdentity, Neighbourhood, Outbox, Person
from models.base import utcnow
from models.outbox import mark_delivered
from models.network import add_neighbourhood

CHANNEL = "demo"
COORDINATOR = "coordinator"
PAGE_LANGUAGE = "en"  # when the browser asks for none of LANGUAGES

#: The demo page's own words; the page fills in ``{name}`` and ``{reason}`` itself.
PAGE_TEXT: dict[str, str] = {
    "title": N_("buurtbot demo — neighbours side by side"),
    "heading": N_("buurtbot demo"),
    "intro": N_("Play several neighbours at once. Each column is one person talking to the bot. "
                "Type a message (for example “hello”) or press a button. Fatima, the coordinator, is already set up."),
    "add_label": N_("Add a neighbour"),
    "add_placeholder": N_("e.g. grandma"),
    "add_button": N_("Add neighbour"),
    "chats": N_("Chats"),
    "languages": N_("Language of this page"),
    "role_resident": N_("a neighbour who could use a hand"),
    "role_volunteer": N_("a neighbour who wants to help"),
    "role_coordinator": N_("Fatima from the wijkhuis (type “menu”)"),
    "role_new": N_("a new neighbour"),
    "placeholder": N_("Type a message…"),
    "send": N_("Send"),
    "choices": N_("Choices"),
    "message_from": N_("Message from {name}"),
    "conversation_of": N_("Conversation of {name}"),
    "send_as": N_("Send as {name}"),
    "hide": N_("Hide"),
    "hide_chat": N_("Hide the chat of {name}"),
    "not_sent": N_("Not sent: {reason}"),
    "slow_down": N_("Slow down a little: the bot is limiting messages."),
    "unreachable": N_("Could not reach buurtbot. Is the demo still running?"),
    "retrying": N_("Could not reach buurtbot. Trying again…"),
    "need_name": N_("Type a name for the new neighbour."),
}


def page_language(wanted: str) -> str:
    """The first of the browser's languages (``nl-BE,fr;q=0.8``, or ``?lang=``) we speak."""
    for code in wanted.split(","):
        language = normalise_language(code.split(";", 1)[0])
        if language:
            return language
    return PAGE_LANGUAGE


def page_text(session: Session, wanted: str) -> dict:
    """The page's words in the language it asks for, the languages it can switch to, and an
    ``instance`` that changes with the database (the page forgets what it kept of an old one)."""
    language = page_language(wanted)
    translations = catalog(language)
    nb = session.scalar(select(Neighbourhood).where(Neighbourhood.slug == "demo"))
    seen = f"{nb.id}:{nb.created_at.isoformat()}" if nb is not None else ""
    return {"lang": language, "dir": "rtl" if is_rtl(language) else "ltr", "languages": dict(LANGUAGES),
            "text": {key: translations.gettext(msgid) for key, msgid in PAGE_TEXT.items()},
            "instance": hashlib.sha256(seen.encode()).hexdigest()[:16]}


def seed(session: Session) -> Neighbourhood:
    """Neighbourhood "Demo" (1040) with an approved coordinator persona. Idempotent."""
    nb = session.scalar(select(Neighbourhood).where(Neighbourhood.slug == "demo"))
    if nb is None:
        nb = add_neighbourhood(session, "Demo", "demo", ["1040"], default_language="nl", contact_name="Fatima")
    identity = session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == CHANNEL, ChannelIdentity.address == COORDINATOR))
    if identity is None:
        person = Person(neighbourhood_id=nb.id, first_name="Fatima", language="en", languages_spoken=["nl", "fr", "en"],
                        is_coordinator=True, is_resident=True, consent_at=utcnow(), consent_version="demo")
        session.add(person)
        session.flush()
        session.add(ChannelIdentity(channel=CHANNEL, address=COORDINATOR, person_id=person.id, language="en",
                                    last_inbound_at=utcnow()))
    return nb


#: The sample social map (real Brussels services) the demo neighbourhood starts with.
SAMPLE_DIRECTORY = Path(__file__).resolve().parents[1] / "docs" / "directory" / "brussels-sample.yaml"


def seed_directory(session: Session, nb: Neighbourhood, path: Path = SAMPLE_DIRECTORY) -> int:
    """The demo's "Where can I go?" answers from the sample social map, once: a demo
    neighbourhood that has services already (or no sample file beside the code) is left as it is."""
    from handlers.directory_file import checked, import_services, read_entries
    from models import Service

    if not path.exists() or session.scalar(select(Service.id).where(Service.neighbourhood_id == nb.id).limit(1)):
        return 0
    added, _updated = import_services(session, nb.id, checked(read_entries(path)))
    return added


def inbox(session: Session, persona: str, after: int = 0, limit: int = 200) -> list[dict]:
    """A persona's messages after ``after``, oldest first; reading them marks them delivered."""
    rows = session.scalars(
        select(Outbox)
        .where(Outbox.channel == CHANNEL, Outbox.address == persona, Outbox.id > after,
               Outbox.status.in_(("pending", "sent")))
        .order_by(Outbox.id).limit(limit)
    ).all()
    out = [{"id": r.id, "text": readable(r.text, r.language), "options": list(r.options or [])} for r in rows]
    mark_delivered(session, rows)
    return out
