"""Notifications that wait for an answer, and the bare "yes" or "1" that cannot say which.

A volunteer who was out comes back to two requests. On Telegram each has its own buttons; on
WhatsApp or SMS there is only what they type. A notification's options therefore join the
ones still waiting (tagged with what they are about), the newest first so that its "1" is the
one just read -- and a bare "yes" or number while several are waiting asks which one, never
guesses and never accepts them all. Someone in the middle of a flow keeps its options: their
"1" answers their own question; the notification's buttons still work, and on WhatsApp or SMS
(no buttons) it comes without numbers and says how to come back to it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import payloads
from handlers.i18n import _

if TYPE_CHECKING:  # core uses this module: only the names, not the import
    from handlers.core import Context, Option

TOPIC_LENGTH = 60


def topic_of(text: str) -> str:
    """What a notification is about, in one short line (its heading left out)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = " ".join(lines[1:] if len(lines) > 1 else lines)
    return body if len(body) <= TOPIC_LENGTH else body[: TOPIC_LENGTH - 1].rstrip() + "…"


def merged(in_flow: bool, current: list[dict], options: list["Option"], text: str) -> list[dict]:
    """The options on someone's screen after a notification with ``options`` reached them."""
    if in_flow:
        return current
    topic = topic_of(text)
    fresh = [{**o.as_json(), "topic": topic} if payloads.parse(o.payload).is_item else o.as_json() for o in options]
    given = {o["payload"] for o in fresh}
    return fresh + [o for o in current if o.get("topic") and o["payload"] not in given]


def later() -> str:
    """Under a notification that reaches someone in the middle of a question on WhatsApp or
    SMS: its numbers would collide with that question's, so it comes without them."""
    return _("You are in the middle of another question: answer that one first. Then type /menu to come back to this.")


def waiting(options: list[dict]) -> list[dict]:
    return [o for o in options or [] if o.get("topic")]


def several(options: list[dict]) -> bool:
    """More than one record waits for an answer (by record: two topics may read the same)."""
    return len({payloads.parse(o["payload"]).record for o in waiting(options)}) > 1


def ask_which(ctx: "Context") -> None:
    from handlers.core import Option
    ctx.say(_("You have several questions waiting for an answer. Which one do you mean?"),
            [Option(f"{o['label']}: {o['topic']}", o["payload"]) for o in waiting(ctx.state.options)]
            + [Option(_("Menu"), payloads.MENU)])
