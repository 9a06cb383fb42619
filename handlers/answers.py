"""Typed answers: every choice also works as "1", "ja", "oui", "yes" or the option's label.

An 82-year-old on an old phone can answer with one digit; nobody has to find a button.
"""
from __future__ import annotations

import re

from handlers import payloads
from handlers.core import Answer, Inbound
from handlers.lexicon import DIGITS, NO, YES, fold  # noqa: F401  (yes/no words are data: locales/lexicon/*/yes.txt)


#: Options a typed yes/no names although their payload is not "yes"/"no": (kind, first argument),
#: registered by the flow module that owns them (a check-in's "ci:ok:<id>" is its "ja").
MEANS: dict[str, set[tuple[str, str]]] = {payloads.YES: set(), payloads.NO: set()}


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
        return by_number(text, folded, options)
    for opt in options:
        if fold(opt["label"]) == folded:
            return Answer(text, opt["payload"])
    given = [payloads.parse(o["payload"]) for o in options]
    for words, wanted in ((YES, payloads.YES), (NO, payloads.NO)):
        if is_word(folded, words):
            hits = [str(p) for p in given if p.kind == wanted or p.args[-1:] == (wanted,)
                    or (p.kind, p.args[0] if p.args else "") in MEANS[wanted]]
            if len(hits) == 1:
                return Answer(text, hits[0])
            if wanted == "yes" and not hits and options and options[0].get("topic") \
                    and len({p.record for p, o in zip(given, options) if o.get("topic")}) == 1:
                # "yes" to the notification just read, when it is the only one waiting
                return Answer(text, options[0]["payload"])
    return Answer(text, None)


def by_number(text: str, digits: str, options: list[dict]) -> Answer:
    """A typed number: the option labelled with that number when the labels are numbers (a
    weekly cap of 1, 2, 3 or 5), else the option at that position. A number that names no
    option is a stray (the question is asked again, never answered with a neighbour) -- except
    a long one next to named options, which is something else (a postcode, for the step)."""
    n, labels = int(digits), [fold(o["label"]) for o in options]
    if all(label.isdecimal() for label in labels):
        hits = [o["payload"] for o, label in zip(options, labels) if int(label) == n]
        return Answer(text, hits[0]) if hits else Answer(text, None, stray_number=True)
    if 1 <= n <= len(options):
        return Answer(text, options[n - 1]["payload"])
    return Answer(text, None, stray_number=len(digits) <= 2)


def is_word(folded: str, words: set[str]) -> bool:
    """"ja", "ja graag", "oui!" -- a short answer that starts with one of ``words``."""
    return folded in words or folded.split(" ")[0] in words and len(folded) < 12


#: Words that may come with a "yes" without making it more than a yes: "ja graag", "oui merci".
COURTESY = {"graag", "please", "svp", "merci", "thanks", "zeker", "bien", "sur", "sure", "hoor", "dank", "u", "je"}


def is_bare_yes(text: str) -> bool:
    """"ja", "yes please", "oui merci": a yes and nothing else, which answers no open question."""
    words = fold(text).split()
    return bool(words) and words[0] in YES and all(w in YES or w in COURTESY for w in words)


def is_bare(text: str) -> bool:
    """A bare number or "yes": an answer that only makes sense next to one question."""
    folded = fold(text)
    return folded.isdecimal() or is_word(folded, YES)
