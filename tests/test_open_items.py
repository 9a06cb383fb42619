"""A typed "yes" or "1" answers the message it belongs to -- and when several notifications wait
for an answer (two requests came in while the volunteer was out), it asks which one instead of
guessing or accepting them all. On WhatsApp and SMS nobody has a button to disambiguate."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import HelpRequest
from tests.flowkit import T, play, resident, volunteer  # noqa: F401


def ask(chat, who: str, words: str) -> int:
    """``who`` (already joined) asks for help with shopping tomorrow; returns the request id."""
    chat.send(who, payload="ask")
    chat.send(who, payload="cat:shopping")
    chat.send(who, words)
    chat.send(who, payload="when:tomorrow")
    chat.send(who, "Kerkstraat 12")
    chat.send(who, payload="yes")
    with chat.sessions() as s:
        return s.scalar(select(HelpRequest.id).order_by(HelpRequest.id.desc()).limit(1))


def claimed_by_anyone(chat) -> list[int]:
    with chat.sessions() as s:
        return list(s.scalars(select(HelpRequest.id).where(HelpRequest.status == "claimed")))


@pytest.fixture
def two_requests(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    play(chat, resident("ahmed", "Ahmed"))
    first = ask(chat, "maria", "Melk en brood")
    second = ask(chat, "ahmed", "Medicijnen ophalen")
    return first, second


@pytest.mark.parametrize("typed", ["ja", "1", "Yes!", "oui"])
def test_a_bare_yes_with_two_open_requests_asks_which_one(chat, two_requests, typed):
    first, second = two_requests
    got = chat.send("jan", typed)
    assert claimed_by_anyone(chat) == []  # nothing accepted, certainly not both
    question = got[-1]
    assert question["text"].startswith(str(T("You have several questions waiting for an answer. Which one do you mean?", "nl")))
    payloads = [o["payload"] for o in question["options"]]
    assert f"claim:{first}" in payloads and f"claim:{second}" in payloads
    labels = " ".join(o["label"] for o in question["options"])
    assert f"#{first}" in labels and f"#{second}" in labels
    # now a number is unambiguous
    n = payloads.index(f"claim:{first}") + 1
    got = chat.send("jan", str(n))
    assert claimed_by_anyone(chat) == [first]
    assert "Kerkstraat 12" in got[-1]["text"]


def test_a_bare_yes_with_one_open_request_takes_it(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    request = ask(chat, "maria", "Melk en brood")
    chat.send("jan", "ja")
    assert claimed_by_anyone(chat) == [request]


def test_a_notification_in_the_middle_of_a_flow_does_not_steal_its_answers(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    chat.send("jan", payload="ask")  # Jan asks for help himself ...
    chat.send("jan", payload="cat:repair")
    chat.send("jan", "Een lamp ophangen")  # ... and is asked "When?"
    request = ask(chat, "maria", "Melk en brood")  # meanwhile Maria's request reaches him
    chat.send("jan", "1")  # "today": the answer to his own question
    assert claimed_by_anyone(chat) == []
    with chat.sessions() as s:
        assert s.scalar(select(HelpRequest.id).where(HelpRequest.description == "Een lamp ophangen")) is None  # not yet confirmed
    chat.send("jan", "Dorpstraat 3")  # the address, asked next
    assert chat.last("jan")["options"][0]["payload"] == "yes"  # then the confirm step
    # the notification's button still works
    chat.send("jan", payload=f"claim:{request}")
    assert claimed_by_anyone(chat) == [request]
