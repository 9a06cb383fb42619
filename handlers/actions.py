"""Buttons and commands that a flow module registers itself, so that adding one (a check-in
answer, a reminder's "did it happen?", /checkin, /week) needs no edit of the dispatcher.

``@action("ci")`` makes the payload kind ``ci`` work from anywhere, like a notification's
button pressed hours later: the handler gets the parsed payload and checks that this person
may touch that record (else ``dispatch.expired``). ``@command("checkin")`` handles the
command named ``checkin`` in ``locales/lexicon/*/commands.txt`` (any of its words, with or
without a slash), for someone who has joined."""
from __future__ import annotations

from typing import Callable

from handlers import payloads
from handlers.core import Context
from handlers.payloads import Payload

Action = Callable[[Context, Payload], None]
ACTIONS: dict[str, Action] = {}
COMMANDS: dict[str, Callable[[Context], None]] = {}


def action(kind: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        assert kind not in payloads.GLOBAL and kind not in ACTIONS, f"payload kind {kind!r} is taken"
        ACTIONS[kind] = fn
        payloads.REGISTERED.add(kind)
        return fn
    return register


def command(name: str) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    def register(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        assert name not in COMMANDS, f"command {name!r} is taken"
        COMMANDS[name] = fn
        return fn
    return register
