"""A neighbourhood's social map from a file (YAML or CSV): read, checked entry by entry, and
written in one go -- every bad entry is reported with its position and then nothing at all is
imported, so a directory is never half old and half new. ``key`` is an entry's stable id:
importing the file again updates those services instead of adding them twice.

YAML: a list of entries (or ``services:`` holding one); hours a mapping ``mon: ["09:00-12:00"]``.
CSV: a header row with the same field names; languages "nl, fr"; hours "mon-fri 09:00-12:00; sat 10:00-12:00".
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.alerts import parse_phone
from handlers.opening_hours import HoursError, read_mapping, read_text
from models.directory import ACCESS, SERVICE_CATEGORIES, Service

FIELDS = ("key", "name_nl", "name_fr", "category", "languages", "hours", "phone", "address", "access", "website")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class DirectoryError(ValueError):
    """The file cannot be imported; ``problems`` lists each bad entry with its position."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Entry:
    """One entry as the file gives it, and where it is in the file ("line 4", "entry 2")."""

    where: str
    values: dict


def read_entries(path: Path) -> list[Entry]:
    """The entries of a .yaml/.yml or .csv file (by its extension)."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryError([f"cannot read {path}: {exc}"]) from None
    if suffix in (".yaml", ".yml"):
        return _yaml_entries(text)
    if suffix == ".csv":
        return _csv_entries(text)
    raise DirectoryError([f"{path.name}: the file must end in .yaml, .yml or .csv"])


def _yaml_entries(text: str) -> list[Entry]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the file"
        raise DirectoryError([f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    if isinstance(data, dict) and "services" in data:
        data = data["services"]
    if not isinstance(data, list):
        raise DirectoryError(["the file must hold a list of services (or `services:` with one)"])
    return [Entry(f"entry {n}", item if isinstance(item, dict) else {"_not_a_mapping": item})
            for n, item in enumerate(data, 1)]


def _csv_entries(text: str) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in FIELDS]
    if not header or unknown:
        raise DirectoryError([f"line 1: unknown column(s) {', '.join(unknown) or '(none)'}; the columns are "
                              + ",".join(FIELDS)])
    reader.fieldnames = header
    return [Entry(f"line {reader.line_num}", {k: v for k, v in row.items() if k is not None})
            for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]


def _text(values: dict, name: str, limit: int) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        # YAML gives lists, mappings and yes/no as such: storing "['x']" or "True" as a name is never meant
        raise ValueError(f"{name} must be text, not {_kind(value)}")
    value = " ".join(str(value).split())
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value or None


def _kind(value: object) -> str:
    return {list: "a list", dict: "a mapping", bool: "yes/no"}.get(type(value), type(value).__name__)


def _languages(value: object) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[,;\s]+", str(value or ""))
    codes = [str(i).strip().lower() for i in items if str(i).strip()]
    bad = [c for c in codes if not _LANGUAGE.match(c)]
    if bad:
        raise ValueError(f"languages must be codes like nl, fr, en, ar: {', '.join(bad)}")
    return list(dict.fromkeys(codes))


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    number = parse_phone(value)
    if number is None:
        raise ValueError(f"not a phone number: {value!r} (like 02 555 12 34 or +32 2 555 12 34)")
    return number


def check(entry: Entry) -> dict:
    """The entry's values as a Service takes them; ValueError with the reason otherwise."""
    values = entry.values
    if "_not_a_mapping" in values:
        raise ValueError("not a mapping of fields (key: ..., name_nl: ...)")
    unknown = sorted(str(k) for k in values if k not in FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    key = (_text(values, "key", 60) or "").lower()
    if not _KEY.match(key):
        raise ValueError("key is missing or not made of lowercase letters, digits, - and _")
    name_nl, name_fr = _text(values, "name_nl", 160), _text(values, "name_fr", 160)
    if not (name_nl or name_fr):
        raise ValueError("name_nl or name_fr is needed")
    category = (_text(values, "category", 24) or "").lower()
    if category not in SERVICE_CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(SERVICE_CATEGORIES)}")
    access = (_text(values, "access", 12) or "appointment").lower().replace("-", "_")
    if access not in ACCESS:
        raise ValueError(f"access must be one of {', '.join(ACCESS)}")
    raw_hours = values.get("hours")
    try:
        hours = read_text(raw_hours) if isinstance(raw_hours, str) else read_mapping(raw_hours)
    except HoursError as exc:
        raise ValueError(f"hours: {exc}") from None
    website = _text(values, "website", 200)
    if website and not website.startswith(("https://", "http://")):
        raise ValueError("website must start with https:// or http://")
    return {"key": key, "name_nl": name_nl or name_fr, "name_fr": name_fr or name_nl, "category": category,
            "languages": _languages(values.get("languages")), "hours": hours,
            "phone": _phone(_text(values, "phone", 32)), "address": _text(values, "address", 200), "access": access,
            "website": website}


def checked(entries: list[Entry]) -> list[dict]:
    """Every entry checked; DirectoryError naming each bad one (and repeated keys) if any is."""
    problems, out, seen = [], [], {}
    for entry in entries:
        try:
            values = check(entry)
        except ValueError as exc:
            problems.append(f"{entry.where}: {exc}")
            continue
        if values["key"] in seen:
            problems.append(f"{entry.where}: key {values['key']!r} is already used by {seen[values['key']]}")
            continue
        seen[values["key"]] = entry.where
        out.append(values)
    if problems:
        raise DirectoryError(problems)
    if not out:
        raise DirectoryError(["the file holds no services"])
    return out


def import_services(session: Session, neighbourhood_id: int, entries: list[dict]) -> tuple[int, int]:
    """Add or update (by key) the neighbourhood's services; (added, updated). Services the file
    no longer names are kept: a referral made to them still points somewhere."""
    known = {s.key: s for s in session.scalars(select(Service).where(Service.neighbourhood_id == neighbourhood_id))}
    added = updated = 0
    for values in entries:
        service = known.get(values["key"])
        if service is None:
            session.add(Service(neighbourhood_id=neighbourhood_id, **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(service, name, value)
            updated += 1
    session.flush()
    return added, updated


def shown_phone(number: str | None) -> str | None:
    """A Belgian number as people dial it ("02 508 11 11"), others in international form."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if parsed.country_code == 32:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
