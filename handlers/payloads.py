"""The vocabulary of button payloads: builders, and the one parser.

A payload is what a button carries back (Telegram callback_data, at most 64 bytes; a typed "2"
is resolved to the second option's payload). It is ``kind`` or ``kind:arg[:arg...]``:
``claim:12``, ``vol:ok:8``, ``coord:invite:volunteer``. The strings are kept exactly as they
always were: buttons already in people's chats must still mean what they meant.
"""
from __future__ import annotations

from typing import NamedTuple

MAX_BYTES = 64  # Telegram's callback_data limit

# ---- payloads without arguments -----------------------------------------------------------
YES, NO = "yes", "no"
MENU, HELP, HUMAN, ASK, OFFER = "menu", "help", "human", "ask", "offer"
OPEN, MINE, TASKS, COORD, CALL_ME, VISIT = "open", "mine", "tasks", "coord", "callme", "visit"
#: Buttons that mean the same wherever and whenever they are pressed.
SIMPLE = frozenset({MENU, HELP, HUMAN, ASK, OFFER, OPEN, MINE, TASKS, COORD, CALL_ME, VISIT})
#: Buttons that act on one help request: ``kind:<request id>``.
ON_REQUEST = frozenset({"claim", "handback", "done", "cancel", "thanks", "msg"})
#: Buttons about a coordinator alert: ``alert:take:<alert id>``, ``alert:reply:<alert id>``.
ALERT, ALERT_ACTIONS = "alert", ("take", "reply")
#: Buttons that act on one volunteer: ``vol:<decision>:<person id>``.
VOLUNTEER, DECISIONS = "vol", ("ok", "no", "pause")
#: Kinds that work from anywhere (a notification pressed hours later), not only as the answer
#: to the question on screen.
GLOBAL = SIMPLE | ON_REQUEST | {VOLUNTEER, ALERT}
#: Kinds a flow module registered with ``handlers.actions.action`` ("ci", "fu", ...): global too.
REGISTERED: set[str] = set()
#: The two answers to "words suggest a professional service" (never diverted without asking).
PROFESSIONAL_CHOICES = ("volunteers", "contact")
#: Answers that act on one record: what a notification asks to accept.
ITEMS = frozenset({"claim", VOLUNTEER})


class Payload(NamedTuple):
    kind: str
    args: tuple[str, ...] = ()

    @property
    def rest(self) -> str:
        """Everything after the kind: "invite:volunteer" of "coord:invite:volunteer"."""
        return ":".join(self.args)

    @property
    def record_id(self) -> int | None:
        """The id the payload acts on (its last argument), if it is a plausible one."""
        raw = self.args[-1] if self.args else ""
        # int() refuses "²", which isdigit() accepts; 12 digits keep it inside every integer column
        return int(raw) if raw.isdecimal() and len(raw) < 12 and raw.isascii() else None

    @property
    def record(self) -> tuple[str, str]:
        """Which record an answer acts on: "vol:ok:8" and "vol:no:8" are both ("vol", "8")."""
        return self.kind, self.args[-1] if self.args else ""

    @property
    def is_item(self) -> bool:
        """Acts on one record and asks to be accepted (claim:12, vol:ok:8, vol:no:8)."""
        if self.kind == "claim":
            return len(self.args) == 1 and self.record_id is not None
        return (self.kind == VOLUNTEER and len(self.args) == 2 and self.args[0] in ("ok", "no")
                and self.record_id is not None)

    @property
    def is_global(self) -> bool:
        """Works from anywhere. A simple kind with an argument ("callme:skip") is an answer to
        its own question on screen, not the simple button ("callme"); ``coord:<action>`` is the
        coordinator's own vocabulary and works from anywhere."""
        if self.kind in REGISTERED:
            return True
        return self.kind in GLOBAL and not (self.args and self.kind in SIMPLE and self.kind != COORD)

    def __str__(self) -> str:
        return ":".join((self.kind, *self.args))


def parse(payload: str | None) -> Payload | None:
    """The one parser: "vol:ok:8" -> Payload("vol", ("ok", "8")); None for no payload."""
    if not payload:
        return None
    kind, *args = payload[:MAX_BYTES].split(":")
    return Payload(kind, tuple(args))


def arg(payload: str | None, kind: str) -> str | None:
    """What follows ``kind:`` in ``payload`` ("nl" of "lang:nl"), or None if it is another kind."""
    parsed = parse(payload)
    return parsed.rest if parsed is not None and parsed.kind == kind and parsed.args else None


def _build(kind: str, *args: object) -> str:
    text = ":".join((kind, *(str(a) for a in args)))
    assert len(text.encode()) <= MAX_BYTES, "a payload must fit Telegram's callback_data"
    return text


# ---- builders --------------------------------------------------------------------------------
def lang(code: str) -> str:
    return _build("lang", code)


def neighbourhood(nb_id: int) -> str:
    return _build("nb", nb_id)


def role(which: str) -> str:
    return _build("role", which)


def category(code: str) -> str:
    return _build("cat", code)


def when(kind: str) -> str:
    return _build("when", kind)


def pick(prefix: str, code: str) -> str:
    """One choice of a multiple choice (``offercat:shopping``, ``offerlang:done``)."""
    return _build(prefix, code)


def where_no_number() -> str:
    """The street question's "I have no house number"."""
    return _build("where", "nonumber")


def call_me_skip() -> str:
    """The call-me phone question's "Skip": a call asked for without a number."""
    return _build(CALL_ME, "skip")


def professional(choice: str) -> str:
    """Words suggesting a professional: ``pro:volunteers`` (send it on) or ``pro:contact`` (talk about it)."""
    assert choice in PROFESSIONAL_CHOICES
    return _build("pro", choice)


def cap(n: int) -> str:
    return _build("cap", n)


def claim(request_id: int) -> str:
    return _build("claim", request_id)


def hand_back(request_id: int) -> str:
    return _build("handback", request_id)


def done(request_id: int) -> str:
    return _build("done", request_id)


def cancel(request_id: int) -> str:
    return _build("cancel", request_id)


def thanks(request_id: int) -> str:
    return _build("thanks", request_id)


def message(request_id: int) -> str:
    return _build("msg", request_id)


def volunteer(decision: str, person_id: int) -> str:
    assert decision in DECISIONS
    return _build(VOLUNTEER, decision, person_id)


def coord(action: str) -> str:
    """A coordinator action: ``coord:pending``, ``coord:invite:volunteer``."""
    return _build(COORD, action)


def delete_yes() -> str:
    """The /delete question's "Yes": a payload of its own, so that an old "yes" of another
    question (consent, "send it?") pressed while it is open can never confirm an erasure."""
    return _build("delete", "yes")


def delete_no() -> str:
    return _build("delete", "no")


def alert(action: str, alert_id: int) -> str:
    """``alert:take:<id>`` (I'll take this) or ``alert:reply:<id>`` (a reply relayed to the person)."""
    assert action in ALERT_ACTIONS
    return _build(ALERT, action, alert_id)
