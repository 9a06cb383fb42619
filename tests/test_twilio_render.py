"""What a WhatsApp or SMS message looks like: numbers, options, segments, templates."""
from __future__ import annotations

import json

import pytest

from bot.channels.twilio.phones import e164, split_address, twilio_address
from bot.channels.twilio.render import segments, sms_parts, sms_text, whatsapp_parts, with_options
from bot.channels.twilio.templates import TemplateError, Templates
from tests.langkit import ten_languages, ten_languages_dir  # noqa: F401  (fixtures)


@pytest.mark.parametrize("raw, expected", [
    ("+32470123456", ("sms", "+32470123456")),
    ("whatsapp:+32470123456", ("whatsapp", "+32470123456")),
    ("WhatsApp:0470 12 34 56", ("whatsapp", "+32470123456")),
    ("0470/12.34.56", ("sms", "+32470123456")),
    ("02 555 01 00", ("sms", "+3225550100")),
    ("+212 612-345678", ("sms", "+212612345678")),
    ("whatsapp:hello", None), ("", None), ("12", None),
])
def test_numbers_become_e164_with_belgium_as_default(raw, expected):
    assert split_address(raw) == expected


def test_twilio_addresses_round_trip():
    assert twilio_address("whatsapp", "+32470123456") == "whatsapp:+32470123456"
    assert twilio_address("sms", "+32470123456") == "+32470123456"
    assert e164("0470123456") == "+32470123456"


@pytest.mark.parametrize("text, expected", [
    ("Hallo", ("GSM-7", 1)), ("a" * 160, ("GSM-7", 1)), ("a" * 161, ("GSM-7", 2)), ("a" * 306, ("GSM-7", 2)),
    ("a" * 307, ("GSM-7", 3)), ("€" * 80, ("GSM-7", 1)), ("€" * 81, ("GSM-7", 2)),  # € takes two septets
    ("Çà é ü ß", ("GSM-7", 1)), ("مرحبا", ("UCS-2", 1)), ("ب" * 70, ("UCS-2", 1)), ("ب" * 71, ("UCS-2", 2)),
    ("ş" + "a" * 69, ("UCS-2", 1)), ("👍" * 35, ("UCS-2", 1)), ("👍" * 36, ("UCS-2", 2)),  # an emoji is 2 units
])
def test_segments_as_the_network_counts_them(text, expected):
    assert segments(text) == expected


def test_typography_is_folded_to_gsm7_but_arabic_stays():
    assert sms_text("“Ja” – dat’s goed…") == '"Ja" - dat\'s goed...'
    assert segments(sms_text("Verzoek #3: “water” – morgen"))[0] == "GSM-7"
    assert sms_text("شكرا") == "شكرا"


def test_options_are_numbered_lines_and_rtl_keeps_its_direction(ten_languages):
    opts = [{"label": "Ja", "payload": "yes"}, {"label": "Nee", "payload": "no"}]
    assert with_options("Zeker?", opts, "nl") == "Zeker?\n\n1. Ja\n2. Nee"
    assert with_options("؟", opts, "ar").splitlines()[-1] == "\u200f2. \u2068Nee\u2069"  # ar: direction: rtl
    assert with_options("Zeker?", [], "nl") == "Zeker?"


def test_long_texts_are_split_at_sentences_within_the_segment_budget():
    text = " ".join(f"Zin nummer {i} gaat over de buurt." for i in range(60))
    parts = sms_parts(text, [{"label": "Menu", "payload": "menu"}], "nl", max_segments=3)
    assert len(parts) > 1 and all(segments(p)[1] <= 3 for p in parts)
    assert all(p.endswith(".") for p in parts[:-1])  # never inside a sentence
    assert parts[-1].endswith("1. Menu")
    assert " ".join(parts).replace("\n\n1. Menu", "") == text


def test_one_whatsapp_message_up_to_1600_characters():
    assert whatsapp_parts("x" * 1500, [], "nl") == ["x" * 1500]
    parts = whatsapp_parts("Een zin. " * 300, [], "nl")
    assert len(parts) == 2 and all(len(p) <= 1600 for p in parts)


def test_template_registry_fills_variables_on_one_line(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            {
                "notify": {"nl": {"content_sid": "HX" + "a" * 32, "variables": {"1": "first_name", "2": "text"}}},
                "*": {"nl": {"content_sid": "HX" + "b" * 32, "variables": {"1": "text"}}},
            }
        )
    )
    templates = Templates.load(path)
    notify = templates.find("notify", "nl")
    assert notify.content_sid == "HX" + "a" * 32
    assert json.loads(notify.fill({"first_name": "Jan", "text": "Een vraag:\n\tboodschappen    morgen"})) == \
        {"1": "Jan", "2": "Een vraag: · boodschappen morgen"}
    assert templates.find("alert", "nl").content_sid == "HX" + "b" * 32  # "*" for any purpose
    assert templates.find("notify", "fr") is None
    assert len(Templates.load(None)) == 0


@pytest.mark.parametrize("raw", [[], {"notify": []}, {"notify": {"nl": {"content_sid": "nope"}}},
                                 {"notify": {"nl": {"content_sid": "HX" + "a" * 32, "variables": {"1": "address"}}}}])
def test_a_wrong_registry_is_refused_with_a_reason(raw):
    with pytest.raises(TemplateError):
        Templates.parse(raw)


def test_a_variable_never_passes_twilios_255_characters():
    """Twilio refuses a longer content variable (50541): a long notification outside the window
    is cut with an ellipsis rather than refused and lost."""
    template = Templates.parse({"notify": {"nl": {"content_sid": "HX" + "a" * 32, "variables": {"1": "text"}}}}).find(
        "notify", "nl"
    )
    long_text = "Een buur vraagt hulp:\n" + "boodschappen en een praatje " * 30
    value = json.loads(template.fill({"text": long_text}))["1"]
    assert len(value) == 255 and value.endswith("…") and "\n" not in value
    short = json.loads(template.fill({"text": "Kunt u helpen?"}))["1"]
    assert short == "Kunt u helpen?"
