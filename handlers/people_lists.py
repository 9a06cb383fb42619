"""The lists a wijkhuis already keeps (the telefooncirkel, the buurtmaaltijd guests, people met
at the door) read into buurtbot and written out again as CSV.

The rules live here, not in the command line, so that they hold for any caller and are tested
without a subprocess: consent is required and kept (``Person.consent_how`` + ``consent_at``);
one phone is one person (a known phone is updated, never duplicated); a file with one bad row
imports nothing (every bad row is reported with its line and reason).

An imported person is stored exactly as the other ways in store people known by phone
(``buurtbot checkin add``, the Twilio channel): ``Person.phone`` in E.164 and an identity
``whatsapp``/``sms``/``voice`` + E.164 made by ``models.plans.ensure_identity``, that never wrote
(``last_inbound_at`` is None). So broadcasts and check-ins reach them (handlers.core.reachable),
WhatsApp only as a template until they write (bot/channels/twilio/sender.py: the 24-hour window),
and their first message from that number is greeted by name (handlers/same_phone.py), never a
second onboarding.

Here (handlers), not in models: a phone is read by ``handlers.alerts.parse_phone`` and a
language by ``handlers.i18n`` -- one reader each, and models do not import handlers.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.alerts import DEFAULT_REGION, parse_phone
from handlers.i18n import LANGUAGES, normalise_language
from models import ChannelIdentity, Neighbourhood, Person
from models.audit import audit
from models.base import TZ
from models.plans import PHONE_CHANNELS, PlanError, current_plan, ensure_identity, find_person, identity_at

#: The columns of a list, in the order an export writes them; ``street`` may be left out.
COLUMNS = ("first_name", "phone", "language", "channel", "consent", "street")
REQUIRED = COLUMNS[:5]
#: How the wijkhuis reaches them: a chat by WhatsApp or SMS, or phone calls (check-ins, rounds).
CHANNELS = ("whatsapp", "sms", "voice")
#: ``Person.consent_version`` of someone who joined through a list (the chat's is a date).
CONSENT_VERSION = "import"
NAME_MAX, CONSENT_MAX, STREET_MAX = 80, 200, 120


@dataclass(frozen=True)
class Row:
    """One checked line of a list."""

    line: int
    first_name: str
    phone: str  # E.164
    language: str | None  # None: the neighbourhood's (a new person) or unchanged (a known one)
    channel: str
    consent: str
    street: str | None


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ListRefused(ValueError):
    """The list cannot be imported as it is; ``problems`` says where and why (nothing was saved)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Imported:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Of those: a number that sent STOP, on a channel it had not been listed on yet: kept silent.
    stopped: int = 0


def decode(data: bytes) -> str:
    """A list as a spreadsheet saves it: UTF-8 (with or without a BOM), else Windows-1252
    (Excel's "CSV" on a Belgian Windows): "Hélène" survives either way."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_rows(text: str) -> list[Row]:
    """The rows of a list, every one checked; ListRefused with every problem found. Commas or
    semicolons (a Belgian spreadsheet's separator); the first line names the columns."""
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, problems = _header(reader)
    if header is None:
        raise ListRefused(problems)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1  # where this record starts (a quoted field may span lines)
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(line, f"cannot be read as CSV ({exc})"))
            break
        if not any(f.strip() for f in fields):
            continue
        row, reasons = _row(line, header, fields)
        if row is not None:
            if row.phone in seen:
                reasons.append(f"the same phone as line {seen[row.phone]}")
            else:
                seen[row.phone] = line
        problems.extend(Problem(line, reason) for reason in reasons)
        if row is not None and not reasons:
            rows.append(row)
    if problems:
        raise ListRefused(problems)
    if not rows:
        raise ListRefused([Problem(1, "the list has no people in it")])
    return rows


def _header(reader) -> tuple[list[str] | None, list[Problem]]:
    for fields in reader:
        if any(f.strip() for f in fields):
            break
    else:
        return None, [Problem(1, "the file is empty: its first line names the columns " + ",".join(COLUMNS))]
    line = reader.line_num
    names = [f.strip().lower().replace(" ", "_") for f in fields]
    problems = [Problem(line, f"unknown column {n!r} (the columns are {','.join(COLUMNS)})")
                for n in names if n not in COLUMNS]
    problems += [Problem(line, f"column {n!r} is missing") for n in REQUIRED if n not in names]
    problems += [Problem(line, f"column {n!r} appears twice") for n in set(names) if names.count(n) > 1]
    return (None if problems else names), problems


def _row(line: int, header: list[str], fields: list[str]) -> tuple[Row | None, list[str]]:
    """The checked row, or None, with the reasons it is refused."""
    if len(fields) != len(header):
        return None, [f"{len(fields)} fields where the first line names {len(header)}"]
    raw = {name: _unguarded(" ".join(value.split())) for name, value in zip(header, fields)}
    reasons = []
    name = raw["first_name"]
    if not name:
        reasons.append("first_name is empty")
    elif len(name) > NAME_MAX:
        reasons.append(f"first_name is longer than {NAME_MAX} characters")
    channel = raw["channel"].lower()
    if channel not in CHANNELS:
        reasons.append(f"channel {raw['channel']!r} is not one of {', '.join(CHANNELS)}")
    phone = parse_phone(raw["phone"])
    if phone is None:
        reasons.append(f"not a phone number: {raw['phone']!r} (for example 0470 12 34 56 or +32470123456)")
    elif channel in ("whatsapp", "sms") and _landline(phone):
        reasons.append(f"{phone} is a landline: it gets no {channel}; use channel voice for phone calls")
    language = _language(raw["language"])
    if raw["language"] and language is None:
        reasons.append(f"language {raw['language']!r} is not one of {', '.join(LANGUAGES)}")
    consent = raw["consent"]
    if not consent:
        reasons.append('no consent: say how and when they agreed, e.g. "at the door, 3/12, with Fatima"')
    elif len(consent) > CONSENT_MAX:
        reasons.append(f"consent is longer than {CONSENT_MAX} characters")
    street = raw.get("street") or None
    if street and len(street) > STREET_MAX:
        reasons.append(f"street is longer than {STREET_MAX} characters")
    if reasons:
        return None, reasons
    return Row(line, name, phone, language, channel, consent, street), []


def _landline(phone: str) -> bool:
    number = phonenumbers.parse(phone, DEFAULT_REGION)
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE


def _language(raw: str) -> str | None:
    """"nl", "NL", "nl-BE" or the language's own name ("Nederlands", "Français")."""
    if not raw:
        return None
    by_name = {name.lower(): code for code, name in LANGUAGES.items()}
    return by_name.get(raw.lower()) or normalise_language(raw)


def import_rows(session: Session, nb: Neighbourhood, rows: list[Row], now: datetime,
                actor_id: int | None = None) -> Imported:
    """Add the new people and update the known ones, all or nothing: ListRefused (and nothing
    changed, by a savepoint) when a phone belongs to someone of another neighbourhood or a
    number is another person's identity."""
    result, problems = Imported(), []
    # Two imports into one neighbourhood take turns (PostgreSQL; SQLite has one writer anyway):
    # the second sees the people the first added, instead of adding them again. NO KEY UPDATE:
    # messages that only refer to the neighbourhood (a new person's row) do not wait for it.
    session.execute(select(Neighbourhood.id).where(Neighbourhood.id == nb.id).with_for_update(key_share=True))
    try:
        with session.begin_nested():
            for row in rows:
                try:
                    outcome, stopped_now = _apply(session, nb, row, now, actor_id)
                except PlanError as exc:
                    problems.append(Problem(row.line, str(exc)))
                    continue
                setattr(result, outcome, getattr(result, outcome) + 1)
                result.stopped += stopped_now
            if problems:
                raise ListRefused(problems)
    finally:
        if problems:
            session.expire_all()  # what was undone is read again, not kept from before the savepoint
    return result


def _apply(session: Session, nb: Neighbourhood, row: Row, now: datetime,
           actor_id: int | None) -> tuple[str, bool]:
    """What happened to the row ("added", "updated", "unchanged") and whether its new identity
    was made silent because the number sent STOP."""
    person = find_person(session, phone=row.phone)
    if person is not None and person.neighbourhood_id not in (None, nb.id):
        raise PlanError("neighbourhood", f"{row.phone} belongs to someone of another neighbourhood than {nb.slug}")
    if person is None:
        person = Person(neighbourhood_id=nb.id, first_name=row.first_name, language=row.language or
                        nb.default_language, is_resident=True, phone=row.phone, street=row.street,
                        consent_how=row.consent, consent_at=now, consent_version=CONSENT_VERSION)
        session.add(person)
        session.flush()
        stopped = _listed_identity(session, person, row)
        audit(session, actor_id, "person.import", "person", person.id)
        return "added", stopped
    before = _facts(person)
    had_identity = any(i.channel == row.channel and i.address == row.phone for i in person.identities)
    person.neighbourhood_id = nb.id
    person.first_name = row.first_name
    person.language = row.language or person.language
    person.phone = row.phone
    person.street = row.street or person.street
    if row.consent != consent_text(session, person):
        person.consent_how, person.consent_at = row.consent, now
    person.consent_version = person.consent_version or CONSENT_VERSION
    stopped = _listed_identity(session, person, row)
    if had_identity and _facts(person) == before:
        return "unchanged", stopped
    audit(session, actor_id, "person.import", "person", person.id)
    return "updated", stopped


def _listed_identity(session: Session, person: Person, row: Row) -> bool:
    """The row's identity, made if new. STOP means "not on this number" (handlers/optout.py): a
    list must not make a number that sent STOP reachable again on another channel, so a new
    identity of such a number starts opted out too (START from the person lifts it). True when so."""
    new = identity_at(session, row.channel, row.phone) is None
    identity = ensure_identity(session, person, row.channel, row.phone)
    if not new:
        return False
    stopped_at = session.scalar(select(ChannelIdentity.opted_out_at).where(
        ChannelIdentity.channel.in_(PHONE_CHANNELS), ChannelIdentity.address == row.phone,
        ChannelIdentity.opted_out_at.is_not(None)).order_by(ChannelIdentity.opted_out_at).limit(1))
    if stopped_at is None:
        return False
    identity.opted_out_at = stopped_at
    return True


def _facts(person: Person) -> tuple:
    return (person.neighbourhood_id, person.first_name, person.language, person.phone, person.street,
            person.consent_how, person.consent_at, person.consent_version)


def consent_text(session: Session, person: Person) -> str:
    """How the person agreed, as a list says it: what was written when they were listed or
    enrolled, else when they joined in the chat themselves."""
    if person.consent_how:
        return person.consent_how
    plan = current_plan(session, person.id)
    if plan is not None and plan.consent_how:
        return plan.consent_how
    if person.consent_at is not None:
        return f"joined in the chat on {person.consent_at.astimezone(TZ):%Y-%m-%d}"
    return ""


@dataclass
class Exported:
    rows: list[dict[str, str]]
    without_phone: int = 0
    do_not_contact: int = 0


def export_rows(session: Session, nb: Neighbourhood) -> Exported:
    """The neighbourhood's people as a list, in the columns ``read_rows`` reads: re-importing an
    export changes nothing (but for someone whose number is no channel of ours -- a phone given
    in a Telegram chat: listed as ``voice``, the import records that identity). Left out: whoever
    has no phone number (only a Telegram chat) and whoever asked not to be contacted."""
    out = Exported([])
    people = session.scalars(select(Person).where(Person.neighbourhood_id == nb.id).order_by(Person.id))
    for person in people:
        if person.do_not_contact:
            out.do_not_contact += 1
            continue
        phones = [i for i in person.identities if i.channel in CHANNELS and i.address.startswith("+")]
        phone = person.phone or next((i.address for i in phones), None)
        if phone is None:
            out.without_phone += 1
            continue
        out.rows.append({"first_name": person.first_name, "phone": phone, "language": person.language,
                         "channel": _channel(phones, phone), "consent": consent_text(session, person),
                         "street": person.street or ""})
    return out


def _channel(identities: list, phone: str) -> str:
    """The channel the bot would reach this number on: the one they wrote from last, else the
    newest (as handlers.core.reachable picks); a number with none of ours is one to call."""
    mine = [i for i in identities if i.address == phone and i.active and i.opted_out_at is None] or \
        [i for i in identities if i.address == phone]
    if not mine:
        return "voice"
    mine.sort(key=lambda i: (i.last_inbound_at is not None, i.last_inbound_at or datetime.min, i.id), reverse=True)
    return mine[0].channel


#: What a spreadsheet takes for the start of a formula: a name typed in the chat ("=HYPERLINK(...)")
#: must stay text when a coordinator opens the export (OWASP "CSV injection").
FORMULA = ("=", "+", "-", "@")


def _guarded(name: str, value: str) -> str:
    """A cell that would start a formula gets a leading apostrophe (the phone's "+" is a phone)."""
    return "'" + value if name != "phone" and value.startswith(FORMULA) else value


def _unguarded(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA) else value


def write_csv(rows: list[dict[str, str]], stream) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows({name: _guarded(name, value) for name, value in row.items()} for row in rows)
