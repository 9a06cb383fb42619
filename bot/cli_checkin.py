"""`buurtbot checkin add|list|pause|resume|stop`: a coordinator enrols someone who has only a
landline or a basic phone, with their consent recorded, and looks after the plans.

Everything goes through models/plans.py (the chat flow does too). Phone numbers are read as
people write them and kept in E.164; `list` shows no phone numbers unless asked.
"""
from __future__ import annotations

import json
from datetime import date

#: `--channel` values: the person's own channel, or "round" (a volunteer caller phones them).
CHANNELS = ("voice", "sms", "whatsapp", "telegram", "demo", "round")


def add_parser(sub) -> None:
    ci = sub.add_parser("checkin", help="weekly check-in plans (enrol, list, pause, resume, stop)")
    ci_sub = ci.add_subparsers(dest="checkin_command", required=True)
    add = ci_sub.add_parser("add", help="enrol someone (or change their plan), with their consent")
    add.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")
    add.add_argument("--name", required=True, help="their first name")
    add.add_argument("--phone", required=True, help="their phone number, e.g. +3225551234 or 02 555 12 34")
    from handlers.lexicon import LANGUAGES

    add.add_argument("--language", default=None, choices=list(LANGUAGES),
                     help="their language (default: the neighbourhood's)")
    add.add_argument("--channel", required=True, choices=CHANNELS)
    add.add_argument("--days", required=True, help="e.g. mon,thu (also ma,do or lun,jeu)")
    add.add_argument("--time", required=True, help="local time in Brussels, e.g. 10:00")
    add.add_argument("--street", help='street and number, for a doorstep visit: "Oudergemselaan 12"')
    add.add_argument("--buddy", metavar="ADDRESS", help="an approved volunteer, e.g. telegram:123 or whatsapp:+32...")
    add.add_argument("--sender", help='whom the check-in comes from: "Fatima van het wijkhuis"')
    add.add_argument("--consent", help='how they agreed: "by phone with Fatima" (required)')
    add.add_argument("--caller", metavar="ADDRESS", help="for --channel round: the volunteer who phones them")
    add.add_argument("--coordinator", metavar="ADDRESS", help="the coordinator who answers for this plan")
    add.add_argument("--address", metavar="ADDRESS",
                     help="their own chat address (telegram:<chat id>, demo:<persona>) for a chat channel")
    add.add_argument("--ladder", help="the escalation ladder as JSON (default: retry, second channel, buddy, "
                                      "coordinator)")
    lst = ci_sub.add_parser("list", help="the plans of a neighbourhood and their next due time")
    lst.add_argument("--neighbourhood", required=True)
    lst.add_argument("--show-phones", action="store_true", help="also print phone numbers")
    for name, text in (("pause", "pause a plan"), ("resume", "resume a paused plan"), ("stop", "stop a plan")):
        p = ci_sub.add_parser(name, help=text)
        who = p.add_mutually_exclusive_group(required=True)
        who.add_argument("--phone")
        who.add_argument("--address", metavar="ADDRESS")
        if name == "pause":
            p.add_argument("--until", help="YYYY-MM-DD: the check-ins start again on that day (default: until "
                                           "resumed)")


def cmd_checkin(args, settings) -> int:
    from bot.cli import UserError, _transaction
    from models.plans import PlanError

    try:
        with _transaction(settings) as session:
            return {"add": _add, "list": _list, "pause": _change, "resume": _change,
                    "stop": _change}[args.checkin_command](session, args)
    except PlanError as exc:
        raise UserError(str(exc)) from exc


def _phone(raw: str) -> str:
    from bot.cli import UserError
    from handlers.alerts import parse_phone

    number = parse_phone(raw)
    if number is None:
        raise UserError(f"not a phone number: {raw!r} (for example +3225551234 or 02 555 12 34)")
    return number


def _address(raw: str) -> tuple[str, str]:
    from models.plans import PHONE_CHANNELS, split_address

    channel, rest = split_address(raw)
    return (channel, _phone(rest)) if channel in PHONE_CHANNELS else (channel, rest)


def _someone(session, raw: str, what: str):
    from bot.cli import UserError
    from models.plans import find_person

    person = find_person(session, address=_address(raw))
    if person is None:
        raise UserError(f"nobody has the {what} address {raw}: it must be someone who joined buurtbot")
    return person


def _when(plan) -> str:
    from handlers.i18n import format_day, speaking

    if plan.next_due_at is None:
        return "-"
    with speaking("en"):
        return format_day(plan.next_due_at) + " (Brussels)"


def _add(session, args) -> int:
    from bot.cli import UserError
    from handlers.plan_days import read_days, read_time, short_days
    from models import Person
    from models.base import utcnow
    from models.network import neighbourhood_by_slug
    from models.plans import ensure_identity, find_person, save_plan

    if not (args.consent or "").strip():
        raise UserError('a check-in plan needs their consent. Ask them first, then say how they agreed, for '
                        'example --consent "by phone with Fatima". Nothing was saved.')
    nb = neighbourhood_by_slug(session, args.neighbourhood)
    if nb is None:
        raise UserError(f"no neighbourhood with slug {args.neighbourhood!r}; see `buurtbot neighbourhood list`")
    phone = _phone(args.phone)
    name = " ".join(args.name.split())[:80]
    if not name:
        raise UserError("--name must not be empty")
    days, unknown = read_days(args.days)
    if not days or unknown:
        raise UserError(f"not days: {args.days!r} (for example mon,thu -- also ma,do or lun,jeu)")
    time_local = read_time(args.time)
    if time_local is None:
        raise UserError(f"not a time: {args.time!r} (for example 10:00)")
    ladder = None
    if args.ladder:
        try:
            ladder = json.loads(args.ladder)
        except ValueError:
            raise UserError('--ladder must be a JSON list like [{"step": "retry", "after": 10}]') from None
    buddy = _someone(session, args.buddy, "buddy") if args.buddy else None
    caller = _someone(session, args.caller, "caller") if args.caller else None
    coordinator = _someone(session, args.coordinator, "coordinator") if args.coordinator else None
    if coordinator is not None and not (coordinator.is_coordinator and coordinator.neighbourhood_id == nb.id):
        raise UserError(f"{args.coordinator} is not a coordinator of {nb.slug}")
    own = _address(args.address) if args.address else None
    if args.channel in ("telegram", "demo") and own is None:  # the chat of whoever has this phone, if they wrote
        known = find_person(session, phone=phone)
        chats = [i for i in (known.identities if known is not None else []) if i.channel == args.channel and i.active]
        own = (args.channel, chats[0].address) if chats else None
    if args.channel in ("telegram", "demo") and (own is None or own[0] != args.channel):
        raise UserError(f"a {args.channel} plan needs --address {args.channel}:... (their chat there, once they "
                        "wrote to the bot)")
    now = utcnow()
    person = find_person(session, address=own) if own else None
    person = person or find_person(session, phone=phone)
    if person is not None and person.neighbourhood_id not in (None, nb.id):
        raise UserError(f"this phone belongs to someone of another neighbourhood than {nb.slug}")
    if person is None:
        person = Person(neighbourhood_id=nb.id, first_name=name, language=args.language or nb.default_language,
                        is_resident=True, consent_version="checkin")
        session.add(person)
        session.flush()
    person.neighbourhood_id = nb.id
    person.phone = phone
    person.first_name = person.first_name or name
    if args.language:
        person.language = args.language
    if args.street:
        person.street = " ".join(args.street.split())[:120]
    if own is not None:
        ensure_identity(session, person, *own)
    if args.channel in ("voice", "sms", "whatsapp"):
        ensure_identity(session, person, args.channel, phone)
    plan = save_plan(session, person, neighbourhood_id=nb.id, channel=args.channel, days=days, time_local=time_local,
                     now=now, consent_how=args.consent, consent_by=coordinator.first_name if coordinator else
                     "operator (command line)", kind="round" if args.channel == "round" else "checkin",
                     sender_name=args.sender, buddy=buddy, coordinator=coordinator, caller=caller, ladder=ladder)
    print(f"plan {plan.id} for {person.first_name}: {args.channel}, {short_days(plan.days)} at {plan.time_local}; "
          f"next: {_when(plan)}")
    return 0


def _list(session, args) -> int:
    from bot.cli import UserError
    from handlers.plan_days import short_days
    from models.base import utcnow
    from models.network import neighbourhood_by_slug
    from models.plans import is_paused, plans_of

    nb = neighbourhood_by_slug(session, args.neighbourhood)
    if nb is None:
        raise UserError(f"no neighbourhood with slug {args.neighbourhood!r}; see `buurtbot neighbourhood list`")
    now = utcnow()
    plans = plans_of(session, nb.id)
    if not plans:
        print(f"no check-in plans in {nb.slug}")
    for plan in plans:
        status = plan.status
        if is_paused(plan, now) and plan.paused_until is not None:
            status = f"paused until {plan.paused_until.isoformat()}"
        line = [str(plan.id), plan.person.first_name, plan.channel, short_days(plan.days), plan.time_local, status,
                _when(plan)]
        if args.show_phones:
            line.append(plan.person.phone or "-")
        print("\t".join(line))
    return 0


def _change(session, args) -> int:
    from bot.cli import UserError
    from models.base import utcnow
    from models.plans import current_plan, find_person, pause, resume, stop

    person = find_person(session, address=_address(args.address)) if args.address else \
        find_person(session, phone=_phone(args.phone))
    plan = current_plan(session, person.id) if person is not None else None
    if plan is None:
        raise UserError("nobody with that phone or address has a check-in plan; see `buurtbot checkin list`")
    now = utcnow()
    if args.checkin_command == "pause":
        until = None
        if args.until:
            try:
                until = date.fromisoformat(args.until)
            except ValueError:
                raise UserError(f"not a date: {args.until!r} (YYYY-MM-DD)") from None
        pause(session, plan, until, now)
        print(f"plan {plan.id} paused " + (f"until {until.isoformat()}; next: {_when(plan)}" if until else
                                           "until resumed"))
    elif args.checkin_command == "resume":
        resume(session, plan, now)
        print(f"plan {plan.id} resumed; next: {_when(plan)}")
    else:
        stop(session, plan)
        print(f"plan {plan.id} stopped")
    return 0

