"""Arabic, right to left: names, phone numbers, addresses, request ids and /commands inside an
Arabic sentence keep their own direction (Unicode isolates, added in ONE place: when
handlers.i18n fills a message's placeholders), every line that starts with a number or a Latin
word is marked right-to-left, options stay in their numbered order on every channel; and SMS
segments are counted as a phone network counts them (UTF-16 code units for UCS-2)."""
from __future__ import annotations

import ast

import pytest

from bot.channels.telegram.render import keyboard, message_args
from bot.channels.twilio.render import segments, sms_parts, whatsapp_parts, with_options
from handlers.answers import resolve
from handlers.core import Inbound
from handlers.i18n import FSI, PDI, RLM, _, isolate, ngettext, rtl_lines, speaking
from tests.catalog_check import ROOT
from tests.flowkit import T, outbox_for
from tests.langkit import CLAIMED, LIMIT, STOPPED, ten_languages, ten_languages_dir  # noqa: F401  (fixtures)
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import db_url, world  # noqa: F401  (fixtures)

NAME, PHONE, ADDRESS = "Marie-Louise", "+32 470 12 34 56", "Rue de la Loi 16, 1040 Etterbeek"
OPTIONS = [{"label": "تم", "payload": "done:12"}, {"label": "Nederlands", "payload": "lang:nl"},
           {"label": "إرسال رسالة", "payload": "msg:12"}]


def iso(fragment: str) -> str:
    return FSI + fragment + PDI


def claimed_in_arabic() -> str:
    with speaking("ar"):
        reach = _("Phone: {phone}", phone=PHONE)
        return _(CLAIMED, id=12, category="🛒 Shopping", description="2 L melk, brood", name=NAME, address=ADDRESS,
                 reach=reach)


def test_placeholders_are_isolated_in_arabic_and_nowhere_else(ten_languages):
    text = claimed_in_arabic()
    for fragment in (NAME, PHONE, ADDRESS, "#12", "2 L melk, brood", "🛒 Shopping"):
        assert iso(fragment) in text, fragment
    assert text.startswith("شكرًا! الطلب " + iso("#12"))  # the "#" goes inside, with its number
    with speaking("nl"):
        dutch = _("Phone: {phone}", phone=PHONE)
    assert FSI not in dutch and PDI not in dutch and PHONE in dutch


def test_a_command_written_into_an_arabic_translation_is_isolated(ten_languages):
    with speaking("ar"):
        text = _(STOPPED, delete="/delete")
    assert iso("/delete") in text and iso("/start") in text
    assert text.count(FSI) == text.count(PDI) == 2
    with speaking("en"):
        assert FSI not in _(STOPPED, delete="/delete")


def test_plural_counts_are_isolated_and_url_slashes_are_not_commands(ten_languages):
    with speaking("ar"):
        assert iso("3") in ngettext(*LIMIT, 3)
        assert FSI not in ngettext(*LIMIT, 2)  # "two tasks" in one word: no number to isolate
    assert isolate("https://buurt.example.org/media/x") == iso("https://buurt.example.org/media/x")


def test_isolates_are_per_line_and_never_doubled():
    assert isolate("Rue de la Loi 16\n1040 Etterbeek") == iso("Rue de la Loi 16") + "\n" + iso("1040 Etterbeek")
    assert isolate(iso("Fatima")) == iso("Fatima") and isolate("") == "" and isolate(12) == iso("12")


def test_lines_that_start_left_to_right_get_a_mark():
    assert rtl_lines("شكرا\n" + iso("Fatima") + " هنا\n1. نعم\n\n") == \
        "شكرا\n" + RLM + iso("Fatima") + " هنا\n" + RLM + "1. نعم\n\n"
    assert rtl_lines(RLM + "1. x") == RLM + "1. x"  # never twice


# ---- the channels' output -----------------------------------------------------------------
def test_telegram_output_in_arabic(ten_languages):
    args = message_args(claimed_in_arabic(), OPTIONS, "ar")
    text = args["text"]
    assert iso(PHONE) in text and iso(ADDRESS) in text and iso(NAME) in text
    lines = text.split("\n")
    assert lines[0].startswith("شكرًا")  # starts right to left: no mark needed
    assert lines[1].startswith(RLM + iso("🛒 Shopping"))  # a line that starts with an isolated label is marked
    rows = args["reply_markup"].inline_keyboard
    # one big button a row (mirroring a one-button row changes nothing): the order of the numbers is kept
    assert [[b.callback_data for b in row] for row in rows] == [["done:12"], ["lang:nl"], ["msg:12"]]
    assert keyboard(OPTIONS, "nl").inline_keyboard == rows
    assert message_args("Dag Fatima", OPTIONS, "nl")["text"] == "Dag Fatima"  # nothing added left to right


def test_whatsapp_output_in_arabic_keeps_the_numbers(ten_languages):
    [body] = whatsapp_parts(claimed_in_arabic(), OPTIONS, "ar")
    lines = body.split("\n")
    assert lines[-3:] == [RLM + "1. " + iso("تم"), RLM + "2. " + iso("Nederlands"), RLM + "3. " + iso("إرسال رسالة")]
    assert iso(PHONE) in body and iso(ADDRESS) in body
    for typed, payload in (("1", "done:12"), ("2", "lang:nl"), ("٣", "msg:12")):
        assert resolve(Inbound("whatsapp", "+32470000001", typed), OPTIONS).payload == payload


def test_sms_output_in_arabic_is_ucs2_and_counted_in_utf16_units(ten_languages):
    parts = sms_parts(claimed_in_arabic(), OPTIONS, "ar", max_segments=4)
    assert len(parts) == 1 and segments(parts[0])[0] == "UCS-2"
    units = len(parts[0].encode("utf-16-le")) // 2
    assert units > len(parts[0])  # the 🛒 counts twice
    assert segments(parts[0]) == ("UCS-2", -(-units // 67))
    assert iso(PHONE) in parts[0] and parts[0].endswith(RLM + "3. " + iso("إرسال رسالة"))
    # a long Arabic text: split within the budget, every part marked, the options last
    long = "\n\n".join(claimed_in_arabic() for _ in range(4))
    parts = sms_parts(long, OPTIONS, "ar", max_segments=2)
    assert len(parts) > 1 and all(segments(p)[1] <= 2 for p in parts)
    assert parts[-1].endswith(iso("إرسال رسالة"))


@pytest.mark.parametrize("text, expected", [
    ("a" * 160, ("GSM-7", 1)), ("a" * 161, ("GSM-7", 2)), ("a" * 306, ("GSM-7", 2)), ("a" * 307, ("GSM-7", 3)),
    ("€" * 80, ("GSM-7", 1)), ("€" * 81, ("GSM-7", 2)), ("[x]" + "a" * 155, ("GSM-7", 1)),
    ("{x}" + "a" * 156, ("GSM-7", 2)),  # { and } take two septets each
    ("ش" * 70, ("UCS-2", 1)), ("ش" * 71, ("UCS-2", 2)), ("ش" * 134, ("UCS-2", 2)), ("ش" * 135, ("UCS-2", 3)),
    ("a" * 68 + "😀", ("UCS-2", 1)), ("a" * 69 + "😀", ("UCS-2", 2)),  # an emoji is two UTF-16 code units
    ("Hallo " + iso("Fatima"), ("UCS-2", 1)), ("Hallo" + RLM, ("UCS-2", 1)),  # isolates and marks: UCS-2
    ("ç" + "a" * 69, ("UCS-2", 1)), ("ç" + "a" * 70, ("UCS-2", 2)),  # ç is not in GSM-7 (Ç is)
])
def test_sms_segments(text, expected):
    assert segments(text) == expected


def test_option_lines_left_to_right_are_unchanged():
    assert with_options("Zeker?", OPTIONS[1:2], "nl") == "Zeker?\n\n1. Nederlands"


# ---- end to end: an Arabic speaker on Telegram and on SMS ----------------------------------
@pytest.mark.asyncio
async def test_arabic_on_telegram_end_to_end(telegram_fake, db_url, ten_languages):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    people.user("Amal", "ar-MA")  # her phone's language_code
    async with running(rt):
        got = await people.say("Amal", "/start", "ar-MA")
        assert buttons_of(got[-1])[0] == "lang:ar"  # her phone's language first
        await join(people, "Amal", "ar")
        got = await people.say("Amal", "/mydata", "ar-MA")
        text = got[-1]["text"]
        assert iso("Amal") in text and iso("/delete") in text  # her name and the command, isolated
        assert all(line.startswith(RLM) or not line or line[0] in "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" or line[0] == FSI
                   for line in text.split("\n")[1:])
        with rt.sessions() as s:
            assert {row.language for row in outbox_for(s, str(people.user("Amal").id), "telegram")[1:]} == {"ar"}


@pytest.mark.asyncio
async def test_arabic_on_sms_end_to_end(world, ten_languages):
    await world.say("amal", "/start", channel="sms")
    for typed in ("4", "1040", "1", "Amal", "1"):  # العربية, the postcode, consent, her name, "I would like help"
        await world.say("amal", typed)
    got = await world.say("amal", "/mydata")
    body = "\n".join(got)
    assert iso("Amal") in body and segments(got[0])[0] == "UCS-2"
    assert all(segments(part)[1] <= world.rt.settings.twilio_sms_max_segments for part in got)


def test_no_translated_text_is_formatted_outside_the_one_place():
    """``_("{name} ...").format(name=...)`` would skip the isolates: placeholders go to _() itself."""
    found = []
    for folder in ("handlers", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "format" and any(
                        isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) in
                        ("_", "gettext", "ngettext", "pgettext") for n in ast.walk(node.value)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_expected_texts_in_tests_are_filled_like_the_bot_fills_them(ten_languages):
    with speaking("ar"):
        assert str(T("Phone: {phone}", "ar", phone=PHONE)) == _("Phone: {phone}", phone=PHONE)
    assert str(T("Phone: {phone}", "nl", phone=PHONE)).endswith(PHONE)


def test_a_request_line_built_in_code_isolates_id_name_street_and_text(ten_languages):
    from handlers.labels import request_line
    from models import HelpRequest
    req = HelpRequest(id=12, category="shopping", when_kind="week", on_behalf_of="Marie-Louise",
                      street="Rue de la Loi", description="2 L melk")
    with speaking("ar"):
        line = request_line(req)
    assert line.startswith(iso("#12") + " ") and iso("Marie-Louise, Rue de la Loi") in line and iso("2 L melk") in line
    with speaking("nl"):
        assert request_line(req).startswith("#12 ") and "(Marie-Louise, Rue de la Loi)" in request_line(req)
