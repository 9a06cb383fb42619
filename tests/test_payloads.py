"""One vocabulary for button payloads (issue 9, point 25): the builders write exactly the
strings buttons always carried (old buttons in people's chats keep working), one parser reads
them, and no handler spells a payload by hand any more."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers import payloads
from handlers.payloads import Payload, parse

HANDLERS = Path(__file__).resolve().parent.parent / "handlers"


@pytest.mark.parametrize("built, legacy", [
    (payloads.claim(12), "claim:12"),
    (payloads.hand_back(3), "handback:3"),
    (payloads.done(3), "done:3"),
    (payloads.cancel(3), "cancel:3"),
    (payloads.thanks(3), "thanks:3"),
    (payloads.message(3), "msg:3"),
    (payloads.volunteer("ok", 8), "vol:ok:8"),
    (payloads.volunteer("pause", 8), "vol:pause:8"),
    (payloads.coord("invite:volunteer"), "coord:invite:volunteer"),
    (payloads.lang("fr"), "lang:fr"),
    (payloads.neighbourhood(4), "nb:4"),
    (payloads.role("help"), "role:help"),
    (payloads.category("shopping"), "cat:shopping"),
    (payloads.when("tomorrow"), "when:tomorrow"),
    (payloads.pick("offercat", "done"), "offercat:done"),
    (payloads.cap(5), "cap:5"),
    (payloads.where_no_number(), "where:nonumber"),
    (payloads.call_me_skip(), "callme:skip"),
    (payloads.professional("contact"), "pro:contact"),
    (payloads.alert("take", 7), "alert:take:7"),
])
def test_builders_write_the_strings_buttons_always_carried(built, legacy):
    assert built == legacy
    assert str(parse(legacy)) == legacy


def test_one_parser():
    assert parse("vol:ok:8") == Payload("vol", ("ok", "8"))
    assert parse("coord:invite:volunteer").rest == "invite:volunteer"
    assert parse("menu") == Payload("menu") and parse("menu").is_global
    assert parse("") is None and parse(None) is None
    assert parse("claim:12").record_id == 12
    for raw in ("claim:²", "claim:abc", "claim:" + "9" * 12, "claim:", "claim:١٢"):
        assert parse(raw).record_id is None, raw
    assert [p for p in ("claim:12", "vol:ok:8", "vol:no:8") if parse(p).is_item] == ["claim:12", "vol:ok:8", "vol:no:8"]
    assert not any(parse(p).is_item for p in ("vol:pause:8", "claim:x", "menu", "done:4", "claim:1:2"))
    assert parse("vol:ok:8").record == parse("vol:no:8").record == ("vol", "8")
    assert payloads.arg("lang:nl", "lang") == "nl" and payloads.arg("lang:nl", "cat") is None
    assert payloads.arg("lang", "lang") is None


def test_a_simple_kind_with_an_argument_answers_its_own_question():
    """"callme" works from anywhere; "callme:skip" answers the phone question on screen only
    (read as the global "callme" it would be an expired button)."""
    assert parse("callme").is_global and not parse("callme:skip").is_global
    assert parse("alert:take:7").is_global and parse("claim:3").is_global
    assert parse("coord:open").is_global and parse("coord:invite:volunteer").is_global


def test_payloads_fit_telegram_callback_data():
    longest = max((payloads.volunteer("pause", 10 ** 11 - 1), payloads.coord("invite:coordinator"),
                   payloads.pick("offerlang", "done")), key=len)
    assert len(longest.encode()) <= payloads.MAX_BYTES
    with pytest.raises(AssertionError):
        payloads.category("x" * 70)


def test_no_handler_spells_a_payload_by_hand():
    """f"claim:{id}" and friends only through the builders; kind:arg parsing only through parse()."""
    kinds = "claim|handback|done|cancel|thanks|msg|vol|coord|lang|nb|role|cat|when|cap|offercat|offerlang|alert|pro"
    spelled = re.compile(r'f"(?:' + kinds + r'):\{|f"\{prefix\}:')
    parsed = re.compile(r'payload\.(?:r?partition|split)\(|payload\[len\(|\.startswith\(prefix \+ ":"\)')
    for path in HANDLERS.glob("*.py"):
        if path.name == "payloads.py":
            continue
        text = path.read_text("utf-8")
        assert not spelled.search(text), f"{path.name} builds a payload by hand"
        assert not re.search(r'"(?:where|callme|pro|role):[a-z]', text), f"{path.name} spells a payload by hand"
        assert not parsed.search(text), f"{path.name} parses a payload by hand"
