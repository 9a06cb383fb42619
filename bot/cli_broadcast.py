"""`buurtbot broadcast send|status|cancel`: an announcement from the command line (an operator, a
monthly letter from cron); the same engine as /broadcast in the chat (handlers/broadcasts.py).

`send` prints the preview and, without --yes, asks before it goes; the running bot's scheduler
(or `buurtbot tick`) materialises and sends it. `status ID` prints how far it got; `cancel ID`
stops one (a scheduled letter never goes; of one sending, what has not gone is withdrawn). Output is
in English: the operator's console, not a neighbour's chat.
"""
from __future__ import annotations

import sys


def add_parser(sub) -> None:
    bc = sub.add_parser("broadcast", help="broadcasts: send (with a preview), status and cancel")
    bc_sub = bc.add_subparsers(dest="broadcast_command", required=True)
    send = bc_sub.add_parser("send", help="send an announcement to a neighbourhood (prints a preview first)")
    send.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")
    from models.broadcasts import AUDIENCES

    send.add_argument("--audience", default="everyone", choices=AUDIENCES)
    send.add_argument("--text", action="append", required=True, metavar="LANG=TEXT",
                      help='a version: nl="Buurtfeest zaterdag" (repeat for each language; the first is the base)')
    send.add_argument("--at", help="when it goes, e.g. 2026-12-09T14:00 (Europe/Brussels without an offset); "
                                   "default: now")
    send.add_argument("--yes", action="store_true", help="send without asking")
    status = bc_sub.add_parser("status", help="sent / delivered / failed / skipped counts of a broadcast")
    status.add_argument("id", type=int)
    cancel = bc_sub.add_parser("cancel", help="stop a broadcast: scheduled ones never go, sending ones stop")
    cancel.add_argument("id", type=int)


def apply_settings(settings) -> None:
    """The engine's figures from the settings: the platform rates a preview's duration is
    computed at, the SMS price, and SMS segments counted as the Twilio sender will split the text
    (handlers do not import the channels). `buurtbot run` calls it too (bot/runtime.py)."""
    from bot.channels.twilio.render import segments, sms_parts
    from handlers import broadcasts

    broadcasts.RATES.update(telegram=settings.telegram_rate_overall, whatsapp=settings.twilio_rate_whatsapp,
                            sms=settings.twilio_rate_sms, voice=settings.twilio_rate_voice)
    broadcasts.SMS_SEGMENT_PRICE = settings.sms_segment_price_eur
    most = settings.twilio_sms_max_segments
    broadcasts.SMS_SEGMENTS = lambda text, options, language: sum(
        segments(part)[1] for part in sms_parts(text, options, language, most))


def cmd_broadcast(args, settings) -> int:
    from bot.cli import _transaction

    apply_settings(settings)
    with _transaction(settings) as session:
        return {"send": _send, "status": _status, "cancel": _cancel}[args.broadcast_command](session, args)


def _texts(raw: list[str]) -> tuple[dict[str, str], str]:
    """{language: text} of the --text options, and the first one's language (the base)."""
    from bot.cli import UserError
    from handlers.i18n import normalise_language

    texts: dict[str, str] = {}
    for item in raw:
        language, sep, text = item.partition("=")
        code = normalise_language(language.strip())
        if not sep or code is None:
            raise UserError(f"--text must be LANG=TEXT with a known language, e.g. nl=\"Hallo\", not {item!r}")
        texts[code] = text
    return texts, normalise_language(raw[0].partition("=")[0].strip())


#: create()'s reasons, as the operator reads them.
REFUSALS = {"no_text": "the text is empty", "too_long": "a text is longer than 1500 characters",
            "base_language": "the first --text is empty", "send_at": "--at has no time zone"}


def _send(session, args) -> int:
    from bot.cli import UserError, _tick_time
    from handlers.broadcasts import Audience, confirm, create, describe, preview
    from handlers.i18n import speaking
    from models.base import TZ, utcnow
    from models.network import neighbourhood_by_slug

    nb = neighbourhood_by_slug(session, args.neighbourhood)
    if nb is None:
        raise UserError(f"no neighbourhood {args.neighbourhood!r} (see `buurtbot neighbourhood list`)")
    texts, base = _texts(args.text)
    now = utcnow()
    send_at = _tick_time(args.at) if args.at else None
    if send_at is not None and send_at <= now:
        raise UserError("--at is in the past")
    try:
        bc = create(session, nb, None, texts, base, Audience(args.audience), send_at=send_at, source="cli")
    except ValueError as exc:
        raise UserError(REFUSALS.get(str(exc), str(exc))) from None
    with speaking("en"):
        print(describe(preview(session, bc, now)))
    if send_at is not None:  # as the operator typed it: Brussels time
        print(f"It goes at {send_at.astimezone(TZ):%Y-%m-%d %H:%M} Brussels time ({send_at.astimezone(TZ):%Z}).")
    if not args.yes:
        print("Send it? [y/N] ", end="", flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            session.delete(bc)  # no draft left behind
            print("Not sent.")
            return 1
    confirm(session, bc, now)
    print(f"broadcast {bc.id} {bc.status}")
    return 0


def _status(session, args) -> int:
    from bot.cli import UserError
    from handlers.broadcasts import counts, describe_counts
    from handlers.i18n import speaking
    from models.broadcasts import Broadcast

    bc = session.get(Broadcast, args.id)
    if bc is None:
        raise UserError(f"no broadcast {args.id}")
    print(f"broadcast {bc.id}: {bc.status}")
    with speaking("en"):
        print(describe_counts(counts(session, bc)))
    return 0


def _cancel(session, args) -> int:
    from bot.cli import UserError
    from handlers.broadcasts import cancel
    from models.base import utcnow
    from models.broadcasts import Broadcast

    bc = session.get(Broadcast, args.id)
    if bc is None:
        raise UserError(f"no broadcast {args.id}")
    if bc.status == "sent":
        raise UserError(f"broadcast {bc.id} has already gone out: nothing to cancel")
    was = bc.status
    withdrawn = cancel(session, bc, utcnow())
    if was == "cancelled" or bc.status != "cancelled":  # already, or it went out while we waited for it
        print(f"broadcast {bc.id}: {bc.status}, nothing changed")
        return 0 if bc.status == "cancelled" else 1
    print(f"broadcast {bc.id} cancelled; not yet sent, withdrawn: {withdrawn}")
    return 0
