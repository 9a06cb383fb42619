"""Answers taken for what they are (issue 9 points 11 and 13): a street must look like one,
and cancelling /delete leaves everything as it was, the half-written request included."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ChannelIdentity, ConversationState, HelpRequest
from tests.flowkit import Row, T, dispatcher, has, last_request, person, play, resident  # noqa: F401  (fixture)

WHERE = ("Where should the volunteer come? Type your street and house number. "
         "Volunteers only see the street until one of them takes your request.")
NOT_A_STREET = ("That does not look like a street and house number. "
                "Please type them like “Kerkstraat 12” or “12 rue de la Loi”.")
STREET_ONLY = "Type the name of your street, and anything that helps to find your door."


def state(who):
    def read(s):
        return s.scalar(select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == who)), \
            s.scalar(select(ConversationState.data).join(ChannelIdentity).where(ChannelIdentity.address == who))
    return read


def no_address(who):
    return lambda s, v: person(s, who).address_full is None or pytest.fail(person(s, who).address_full)


def address(who, expected):
    return lambda s, v: person(s, who).address_full == expected or pytest.fail(person(s, who).address_full)


def to_where(who, lang):
    return [Row(who, payload="cat:shopping"), Row(who, "Een brood van de bakker"),
            Row(who, payload="when:week", reply=has(T(WHERE, lang), options=("where:nonumber",)))]


# ---- 11: a street must look like one ---------------------------------------------------------

def street_rows(who, lang, typed, accepted):
    if accepted:
        return [Row(who, typed, reply=has(options=("yes", "no")), db=address(who, typed))]
    return [Row(who, typed, reply=has(T(NOT_A_STREET, lang), options=("where:nonumber",)), db=no_address(who))]


@pytest.mark.parametrize("lang, typed, accepted", [
    ("nl", "yes", False), ("nl", "ja", False), ("nl", "ok", False), ("en", "menu please", False),
    ("nl", "Kerkstraat", False), ("nl", "1040", False), ("fr", "oui", False), ("fr", "d'accord", False),
    ("nl", "Kerkstraat 12", True), ("fr", "rue de la Loi 16", True), ("en", "12 Main Street", True),
    ("nl", "Kerkstraat 12 bus 3, 1040 Etterbeek", True), ("fr", "Av. Louise 231A", True),
    ("nl", "Kerkstraat geen nummer", True), ("fr", "Rue Haute, sans numéro", True),
])
def test_a_street_must_look_like_one(chat, lang, typed, accepted):
    play(chat, resident("ria", "Ria", lang) + to_where("ria", lang) + street_rows("ria", lang, typed, accepted))


NO_NUMBER = resident("rob", "Rob", "fr") + to_where("rob", "fr") + [
    Row("rob", payload="where:nonumber", reply=has(T(STREET_ONLY, "fr"))),
    Row("rob", "oui", reply=has(T("That does not look like a street name.", "fr"), T(STREET_ONLY, "fr")),
        db=no_address("rob")),
    Row("rob", "Clos des Lilas", reply=has(options=("yes", "no")), db=address("rob", "Clos des Lilas")),
]

# Only the words "no number": then the street name is asked.
NO_NUMBER_TYPED = resident("ed", "Ed", "nl") + to_where("ed", "nl") + [
    Row("ed", "geen nummer", reply=has(T(STREET_ONLY, "nl")), db=no_address("ed")),
    Row("ed", "Hoeve Ter Kamer", reply=has(options=("yes", "no")), db=address("ed", "Hoeve Ter Kamer")),
]


@pytest.mark.parametrize("rows", [NO_NUMBER, NO_NUMBER_TYPED], ids=["button", "typed"])
def test_no_house_number(chat, rows):
    play(chat, rows)


# ---- 13: "No" to /delete leaves everything as it was ----------------------------------------

def _kept(s, v):
    step, data = state("ann")(s)
    assert step == "ask.where", step
    assert data["category"] == "shopping" and data["description"] == "Een brood van de bakker", data


DELETE_NO = resident("ann", "Ann", "nl") + to_where("ann", "nl") + [
    Row("ann", "/verwijder", reply=has(options=("delete:yes", "delete:no"))),
    # "Nee": nothing deleted, and back in the question she was in, with her answers
    Row("ann", "Nee", reply=has(T(WHERE, "nl")), db=_kept),
    Row("ann", "Kerkstraat 12", reply=has("Een brood van de bakker", options=("yes", "no"))),
    Row("ann", "ja", db=lambda s, v: (last_request(s).description == "Een brood van de bakker"
                                      and last_request(s).status == "open") or pytest.fail("draft lost")),
    # not in a question any more: "nee" leads to the menu, as before
    Row("ann", "/verwijder"),
    Row("ann", "nee", reply=has(T("Nothing was deleted.", "nl"), options=("ask",)),
        db=lambda s, v: person(s, "ann") is not None or pytest.fail("deleted")),
]

# The answer "2" (the second option, "No, keep it") and a multi-select in progress.
DELETE_TWO = resident("vic", "Vic", "en") + [
    Row("vic", payload="offer"), Row("vic", payload="offercat:pets"), Row("vic", payload="offercat:lift"),
    Row("vic", "/delete"),
    Row("vic", "2", reply=has(T("Which tasks would you like to do? Tap to choose (tap again to remove), "
                                "then “Done”. You can also type the numbers, like 1 3 4.", "en"),
                              options=("offercat:done",)),
        db=lambda s, v: state("vic")(s) == ("offer.categories", {"chosen": ["pets", "lift"]})
        or pytest.fail(repr(state("vic")(s)))),
    Row("vic", payload="offercat:done", reply=has(options=("offerlang:done",))),
]

@pytest.mark.parametrize("rows", [DELETE_NO, DELETE_TWO], ids=["draft", "multi-select"])
def test_cancelling_delete_leaves_everything_as_it_was(chat, rows):
    play(chat, rows)
    with chat.sessions() as s:
        assert s.scalar(select(HelpRequest.id).where(HelpRequest.status == "cancelled")) is None
