"""The rules of a people list (handlers/people_lists.py) on SQLite and PostgreSQL: consent
required and kept, one phone one person, every bad row reported with its line and nothing
half-imported, identities stored as the Twilio channel and check-in plans store them."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from handlers import broadcasts
from handlers.core import Inbound, reachable
from handlers.dispatch import Dispatcher
from handlers.people_lists import ListRefused, decode, export_rows, import_rows, read_rows, write_csv
from models import ChannelIdentity, Person
from models.db import make_engine, make_sessionmaker, transaction
from models.network import add_neighbourhood, neighbourhood_by_slug
from models.plans import ensure_identity, find_person
from tests.test_concurrency import run_together

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
HEADER = "first_name,phone,language,channel,consent,street\n"
LIST = HEADER + (
    'Maria,02 555 12 34,nl,voice,"at the door, 3/12, with Fatima",Oudergemselaan 12\n'
    'Hélène,0470 00 01 01,fr,sms,"par téléphone, 2/12",\n'
    "Fatna,+32 470 00 01 02,ar,whatsapp,buurtmaaltijd 28/11 with Karim,\n"
)


@pytest.fixture
def nb_sessions(sessions):
    with transaction(sessions) as s:
        add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"], "nl", "Fatima")
        add_neighbourhood(s, "Schaerbeek", "schaerbeek", ["1030"], "fr")
    return sessions


def run_import(sessions, text: str, slug: str = "etterbeek", now: datetime = NOW):
    with transaction(sessions) as s:
        return import_rows(s, neighbourhood_by_slug(s, slug), read_rows(text), now)


def refused(text: str) -> list[str]:
    with pytest.raises(ListRefused) as exc:
        read_rows(text)
    return [str(p) for p in exc.value.problems]


def snapshot(sessions) -> list[tuple]:
    with sessions() as s:
        people = [(p.id, p.first_name, p.phone, p.language, p.street, p.consent_how, p.consent_at, p.consent_version,
                   p.neighbourhood_id) for p in s.scalars(select(Person).order_by(Person.id))]
        ids = [(i.id, i.channel, i.address, i.person_id, i.last_inbound_at)
               for i in s.scalars(select(ChannelIdentity).order_by(ChannelIdentity.id))]
        return people + ids


def test_a_list_adds_people_with_consent_and_identities_as_the_twilio_channel_stores_them(nb_sessions):
    done = run_import(nb_sessions, LIST)
    assert (done.added, done.updated, done.unchanged) == (3, 0, 0)
    with nb_sessions() as s:
        people = {p.first_name: p for p in s.scalars(select(Person))}
        maria, helene, fatna = people["Maria"], people["Hélène"], people["Fatna"]
        assert maria.phone == "+3225551234" and maria.street == "Oudergemselaan 12" and maria.language == "nl"
        assert maria.consent_how == "at the door, 3/12, with Fatima" and maria.consent_at == NOW
        assert maria.consent_version == "import" and maria.is_resident and not maria.is_volunteer
        assert [(i.channel, i.address, i.last_inbound_at) for i in maria.identities] == \
            [("voice", "+3225551234", None)]
        assert [(i.channel, i.address) for i in helene.identities] == [("sms", "+32470000101")]
        assert [(i.channel, i.address) for i in fatna.identities] == [("whatsapp", "+32470000102")]
        assert (helene.language, fatna.language) == ("fr", "ar")
        # Found again the ways the check-in plans and the Twilio channel look people up.
        assert find_person(s, phone="+32470000102").id == fatna.id
        assert find_person(s, address=("sms", "+32470000101")).id == helene.id
        # Broadcasts and notifications reach the chat ones; a voice number is for calls only.
        reach = reachable(s, [maria, helene, fatna])
        assert maria.id not in reach
        assert (reach[helene.id].channel, reach[helene.id].address) == ("sms", "+32470000101")
        assert (reach[fatna.id].channel, reach[fatna.id].last_inbound_at) == ("whatsapp", None)


def test_the_same_list_again_changes_nothing(nb_sessions):
    run_import(nb_sessions, LIST)
    before = snapshot(nb_sessions)
    done = run_import(nb_sessions, LIST, now=NOW + timedelta(days=1))
    assert (done.added, done.updated, done.unchanged) == (0, 0, 3)
    assert snapshot(nb_sessions) == before  # not even consent_at moved


def test_a_known_phone_is_updated_not_duplicated(nb_sessions):
    run_import(nb_sessions, LIST)
    later = NOW + timedelta(days=2)
    # Another way of writing Fatna's number, a new consent, and SMS as well now.
    done = run_import(nb_sessions, HEADER + "Fatna,0470000102,Français,sms,by phone 9/12 with Fatima,Kerkstraat 3\n",
                      now=later)
    assert (done.added, done.updated) == (0, 1)
    with nb_sessions() as s:
        fatna = s.scalars(select(Person).where(Person.phone == "+32470000102")).one()
        assert (fatna.language, fatna.street, fatna.consent_how, fatna.consent_at) == \
            ("fr", "Kerkstraat 3", "by phone 9/12 with Fatima", later)
        assert sorted((i.channel, i.address) for i in fatna.identities) == \
            [("sms", "+32470000102"), ("whatsapp", "+32470000102")]
        assert s.scalar(select(func.count(Person.id))) == 3


def test_someone_who_joined_in_the_chat_is_the_same_person(nb_sessions):
    with transaction(nb_sessions) as s:
        nb = neighbourhood_by_slug(s, "etterbeek")
        jan = Person(neighbourhood_id=nb.id, first_name="Jan", language="nl", is_volunteer=True,
                     volunteer_status="approved", consent_at=NOW - timedelta(days=30), consent_version="2026-11")
        s.add(jan)
        s.flush()
        s.add(ChannelIdentity(channel="whatsapp", address="+32470000555", person_id=jan.id,
                              last_inbound_at=NOW - timedelta(days=1)))
    done = run_import(nb_sessions, HEADER + "Jan,0470 00 05 55,nl,whatsapp,telefooncirkel sheet 1/12,\n")
    assert (done.added, done.updated) == (0, 1)
    with nb_sessions() as s:
        jan = s.scalars(select(Person)).one()
        assert jan.is_approved_volunteer and jan.phone == "+32470000555" and jan.consent_version == "2026-11"
        assert jan.consent_how == "telefooncirkel sheet 1/12" and len(jan.identities) == 1


def test_an_sms_stop_stays_a_stop_after_an_import(nb_sessions):
    run_import(nb_sessions, LIST)
    with transaction(nb_sessions) as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "sms"))
        identity.opted_out_at = NOW
    run_import(nb_sessions, LIST)
    with nb_sessions() as s:
        assert s.scalar(select(ChannelIdentity.opted_out_at).where(ChannelIdentity.channel == "sms")) is not None


@pytest.mark.parametrize("channel", ["whatsapp", "voice"])
def test_a_number_that_sent_stop_is_not_made_reachable_by_listing_it_on_another_channel(nb_sessions, channel):
    """STOP means "not on this number": re-listing Hélène (who sent STOP by SMS) with another channel
    adds that identity opted out, and a broadcast skips her as opted out."""
    run_import(nb_sessions, LIST)
    Dispatcher(nb_sessions).handle(Inbound("sms", "+32470000101", "STOP", payload="optout"))
    done = run_import(nb_sessions, HEADER + f'Hélène,0470 00 01 01,fr,{channel},"par téléphone, 2/12",\n')
    assert (done.updated, done.stopped) == (1, 1)
    with transaction(nb_sessions) as s:
        helene = find_person(s, phone="+32470000101")
        assert sorted((i.channel, i.opted_out_at is not None) for i in helene.identities) == \
            sorted([("sms", True), (channel, True)])
        assert helene.id not in reachable(s, [helene])
        bc = broadcasts.create(s, neighbourhood_by_slug(s, "etterbeek"), None, {"nl": "Feest"}, "nl",
                               broadcasts.Audience())
        preview = broadcasts.preview(s, bc, NOW)
        assert preview.recipients == 1 and preview.by_channel == {"whatsapp": 1}  # Fatna only
        assert preview.skipped.get("opted_out") == 1
    assert run_import(nb_sessions, HEADER + f'Hélène,0470 00 01 01,fr,{channel},"par téléphone, 2/12",\n').stopped == 0


def test_a_new_channel_of_a_number_that_never_sent_stop_is_reachable(nb_sessions):
    run_import(nb_sessions, LIST)
    done = run_import(nb_sessions, HEADER + 'Hélène,0470 00 01 01,fr,whatsapp,"par téléphone, 2/12",\n')
    assert done.stopped == 0
    with nb_sessions() as s:
        helene = find_person(s, phone="+32470000101")
        assert all(i.opted_out_at is None for i in helene.identities) and helene.id in reachable(s, [helene])


def test_bad_rows_are_each_reported_with_their_line_and_reason():
    problems = refused(HEADER + "\n".join([
        "Maria,02 555 12 34,nl,voice,,",                      # 2: no consent
        "Jef,hello,nl,sms,at the door,",                      # 3: not a phone
        "Els,0470 00 02 01,nl,telegram,at the door,",         # 4: not a channel of a list
        "Ahmed,0470 00 02 02,klingon,whatsapp,at the door,",  # 5: not a language
        "Lisa,0470 00 02 03,nl,whatsapp,at the door,",        # 6: fine
        "Lies,+32 470 00 02 03,nl,sms,at the door,",          # 7: Lisa's phone again
        "Louis,02 555 00 00,fr,sms,au téléphone,",            # 8: a landline gets no SMS
        ",0470 00 02 04,nl,sms,at the door,",                 # 9: no name
        "Kim,0470 00 02 05,nl,sms",                           # 10: fields missing
    ]) + "\n")
    assert [p.split(":", 1)[0] for p in problems] == [f"line {n}" for n in (2, 3, 4, 5, 7, 8, 9, 10)]
    assert "no consent" in problems[0] and "not a phone number: 'hello'" in problems[1]
    assert "channel 'telegram' is not one of whatsapp, sms, voice" in problems[2]
    assert "language 'klingon'" in problems[3] and "the same phone as line 6" in problems[4]
    assert "landline" in problems[5] and "first_name is empty" in problems[6] and "4 fields" in problems[7]


def test_the_columns_are_checked_and_a_spreadsheets_csv_is_read():
    assert refused("name,phone,language,channel\nMaria,0470000301,nl,sms\n") == [
        "line 1: unknown column 'name' (the columns are first_name,phone,language,channel,consent,street)",
        "line 1: column 'first_name' is missing", "line 1: column 'consent' is missing"]
    assert refused("") == ["line 1: the file is empty: its first line names the columns "
                           "first_name,phone,language,channel,consent,street"]
    assert refused(HEADER) == ["line 1: the list has no people in it"]
    # Excel on a Belgian Windows: semicolons, Windows-1252, a multi-line quoted field, blank lines.
    excel = ("First name;Phone;Language;Channel;Consent\r\n\r\nHélène;0470 00 03 01;FR;SMS;\"à la porte,\r\n3/12\"\r\n"
             "Omar;0470 00 03 02;;whatsapp;\r\n").encode("cp1252")
    problems = refused(decode(excel))
    assert problems == ['line 5: no consent: say how and when they agreed, e.g. "at the door, 3/12, with Fatima"']
    rows = read_rows(decode(excel.replace(b";whatsapp;", b";whatsapp;ok")))
    assert [(r.line, r.first_name, r.language, r.channel, r.consent) for r in rows] == [
        (3, "Hélène", "fr", "sms", "à la porte, 3/12"), (5, "Omar", None, "whatsapp", "ok")]


def test_a_refused_list_saves_nothing_even_when_the_problem_is_found_in_the_database(nb_sessions):
    run_import(nb_sessions, HEADER + "Sam,0470 00 04 01,fr,sms,au téléphone,\n", slug="schaerbeek")
    before = snapshot(nb_sessions)
    with pytest.raises(ListRefused) as exc:
        run_import(nb_sessions, LIST + "Sam,0470 00 04 01,nl,sms,at the door,\n")
    assert [str(p) for p in exc.value.problems] == [
        "line 5: +32470000401 belongs to someone of another neighbourhood than etterbeek"]
    assert snapshot(nb_sessions) == before  # Maria, Hélène and Fatna (lines 2-4) were not kept either


def test_a_refused_list_leaves_the_callers_transaction_usable(nb_sessions):
    """The savepoint undoes the list only: what the caller did before it stays."""
    run_import(nb_sessions, HEADER + "Sam,0470 00 04 01,fr,sms,au téléphone,\n", slug="schaerbeek")
    with transaction(nb_sessions) as s:
        nb = neighbourhood_by_slug(s, "etterbeek")
        nb.contact_name = "Karim"
        with pytest.raises(ListRefused):
            import_rows(s, nb, read_rows(LIST + "Sam,0470 00 04 01,nl,sms,at the door,\n"), NOW)
    with nb_sessions() as s:
        assert neighbourhood_by_slug(s, "etterbeek").contact_name == "Karim"
        assert s.scalar(select(func.count(Person.id))) == 1


def test_an_export_reads_back_as_the_same_list(nb_sessions):
    run_import(nb_sessions, LIST)
    with transaction(nb_sessions) as s:
        nb = neighbourhood_by_slug(s, "etterbeek")
        s.add(Person(neighbourhood_id=nb.id, first_name="Tom", language="nl", consent_at=NOW))  # Telegram only
        s.add(Person(neighbourhood_id=nb.id, first_name="Ann", phone="+32470000999", do_not_contact=True))
        out = export_rows(s, nb)
    assert (out.without_phone, out.do_not_contact) == (1, 1)
    stream = io.StringIO()
    write_csv(out.rows, stream)
    text = stream.getvalue()
    assert text.splitlines()[0] == HEADER.strip()
    assert [(r.first_name, r.phone, r.language, r.channel, r.consent, r.street) for r in read_rows(text)] == [
        ("Maria", "+3225551234", "nl", "voice", "at the door, 3/12, with Fatima", "Oudergemselaan 12"),
        ("Hélène", "+32470000101", "fr", "sms", "par téléphone, 2/12", None),
        ("Fatna", "+32470000102", "ar", "whatsapp", "buurtmaaltijd 28/11 with Karim", None)]
    before = snapshot(nb_sessions)
    done = run_import(nb_sessions, text, now=NOW + timedelta(days=3))
    assert (done.added, done.updated, done.unchanged) == (0, 0, 3) and snapshot(nb_sessions) == before


def test_the_same_list_imported_at_once_by_four_processes_adds_each_person_once(nb_sessions):
    """Two operators (or a cron job and an operator) import at the same moment: they take turns,
    the first adds, the others find everyone known. Each thread has an engine of its own."""
    url = nb_sessions.kw["bind"].url.render_as_string(hide_password=False)
    engines = []

    def work(_i: int):
        engine = make_engine(url)
        engines.append(engine)
        return run_import(make_sessionmaker(engine), LIST)

    try:
        results = run_together(4, work)
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted((r.added, r.updated, r.unchanged) for r in results) == [(0, 0, 3)] * 3 + [(3, 0, 0)]
    with nb_sessions() as s:
        assert s.scalar(select(func.count(Person.id))) == 3
        assert s.scalar(select(func.count(ChannelIdentity.id))) == 3


@pytest.mark.parametrize("lang,line", [("nl", "Hoe u akkoord ging: par téléphone, 2/12"),
                                       ("fr", "Comment vous avez donné votre accord : par téléphone, 2/12")])
def test_mydata_shows_how_someone_on_a_list_agreed(chat, sessions, lang, line):
    """Access (GDPR): the consent a wijkhuis wrote down about them is data about them."""
    with transaction(sessions) as s:
        rows = read_rows(LIST.replace(",fr,sms,", f",{lang},sms,"))
        import_rows(s, neighbourhood_by_slug(s, "demo"), rows, NOW)
        helene = s.scalars(select(Person).where(Person.first_name == "Hélène")).one()
        ensure_identity(s, helene, "demo", "helene")  # as if her chat were on the demo page
    text = chat.send("helene", "/mydata")[-1]["text"]
    assert line in text
    chat.join("omar", "Omar", lang)
    assert line.split(":")[0] not in chat.send("omar", "/mydata")[-1]["text"]  # no such line without one


def test_an_export_opened_in_a_spreadsheet_runs_no_formula_and_reads_back(nb_sessions):
    """A name typed in the chat is the person's own text: "=HYPERLINK(...)" must stay text."""
    with transaction(nb_sessions) as s:
        nb = neighbourhood_by_slug(s, "etterbeek")
        jan = Person(neighbourhood_id=nb.id, first_name='=HYPERLINK("http://x.example","Jan")', language="nl",
                     phone="+32470000777", consent_at=NOW, consent_how="@chat", consent_version="2026-11")
        s.add(jan)
        s.flush()
        s.add(ChannelIdentity(channel="sms", address="+32470000777", person_id=jan.id, last_inbound_at=NOW))
        stream = io.StringIO()
        write_csv(export_rows(s, nb).rows, stream)
    line = stream.getvalue().splitlines()[1]
    assert line.startswith('"\'=HYPERLINK(') and ",+32470000777,nl,sms,'@chat," in line
    before = snapshot(nb_sessions)
    done = run_import(nb_sessions, stream.getvalue())
    assert done.unchanged == 1 and snapshot(nb_sessions) == before
