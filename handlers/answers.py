"""Typed answers: every choice also works as "1", "ja", "oui", "yes" or the option's label.

An 82-year-old on an old phone can answer with one digit; nobody has to find a button.
"""
from __future__ import annotations

import re

from handlers.core import Answer, Inbound
from handlers.lexicon import DIGITS, NO, YES, fold  # noqa: F401  (yes/no words are data: locales/lexicon/*/yes.txt)
from handlers.waiting import record_of


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,2}", text.translate(DIGITS))]


def resolve(inbound: Inbound, options: list[dict]) -> Answer:
    text = inbound.text or ""
    if inbound.payload:
        return Answer(text, inbound.payload[:64])
    folded = fold(text)
    if not options or not folded:
        return Answer(text, None)
    if folded.isdecimal():  # isdigit() is also true for "²" or "፩", which int() refuses
        n = int(folded)
        return Answer(text, options[n - 1]["payload"] if 1 <= n <= len(options) else None)
    for opt in options:
        if fold(opt["label"]) == folded:
            return Answer(text, opt["payload"])
    payloads = [o["payload"] for o in options]
    for words, wanted in ((YES, "yes"), (NO, "no")):
        if is_word(folded, words):
            hits = [p for p in payloads if p == wanted or p.endswith(":" + wanted)]
            if len(hits) == 1:
                return Answer(text, hits[0])
            if wanted == "yes" and not hits and options and options[0].get("topic") \
                    and len({record_of(o["payload"]) for o in options if o.get("topic")}) == 1:
                # "yes" to the notification just read, when it is the only one waiting
                return Answer(text, options[0]["payload"])
    return Answer(text, None)


def is_word(folded: str, words: set[str]) -> bool:
    """"ja", "ja graag", "oui!" -- a short answer that starts with one of ``words``."""
    return folded in words or folded.split(" ")[0] in words and len(folded) < 12


def is_bare(text: str) -> bool:
    """A bare number or "yes": an answer that only makes sense next to one question."""
    folded = fold(text)
    return folded.isdecimal() or is_word(folded, YES)
