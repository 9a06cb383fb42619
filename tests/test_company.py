"""A wish for company (field notes A9, B5, B13): an empathic offer of a call or a visit, never
pushed; the coordinator alone is told, without labels."""
from sqlalchemy import select

from models import HelpRequest


def test_company_offer_call_and_visit(chat):
    chat.join("maria", "Maria", "en", "role:help")
    got = chat.send("maria", "Since my husband died I live alone, I see nobody these days.")
    payloads = [o["payload"] for o in got[-1]["options"]]
    assert payloads == ["callme", "visit", "menu"]
    for word in ("lonely", "vulnerable", "at risk"):
        assert word not in got[-1]["text"].lower()
    alert = chat.last("coordinator")
    assert "Maria" in alert["text"] and "I see nobody" in alert["text"]

    chat.send("maria", "1")  # typed: a call; the demo channel has no phone, so a number is asked
    chat.send("maria", "Skip")
    assert "Maria" in chat.last("coordinator")["text"]
    assert chat.last("coordinator")["id"] != alert["id"]

    chat.send("maria", payload="visit")
    chat.send("maria", "Someone for a coffee and a chat now and then")
    chat.send("maria", payload="when:week")
    chat.send("maria", "Rue Gray 5, 1040 Etterbeek")
    chat.send("maria", "yes")
    with chat.sessions() as s:
        req = s.scalar(select(HelpRequest))
        assert req.category == "company" and req.status == "open"


def test_declining_is_respected(chat):
    chat.join("piet", "Piet", "nl", "role:help")
    chat.send("piet", "Ik voel me soms eenzaam")
    got = chat.send("piet", "3")
    assert got[-1]["options"] and got[-1]["options"][0]["payload"] == "ask"  # back to the menu, no push
