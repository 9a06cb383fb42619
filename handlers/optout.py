"""STOP, START and HELP as carriers and people expect them on SMS and WhatsApp.

A STOP is honoured at once: nothing still queued goes out, the address gets one confirmation
and then silence -- whatever it writes, except START (or /start), HELP, and words of an
emergency, which still get 112. Channel adapters turn those whole-message keywords into the
payloads below; the person's data stays (that is /delete), only this address falls silent.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import update

from handlers import account, lexicon, onboarding
from handlers.core import Context
from handlers.i18n import _
from handlers.menu import show_menu
from models import ChannelIdentity
from models import outbox as queue

OPT_OUT, OPT_IN, HELP = "optout", "optin", "keyword-help"
#: Channels whose address is a phone number (the same number a check-in call rings).
PHONE_CHANNELS = ("sms", "whatsapp")
PAYLOADS = (OPT_OUT, OPT_IN, HELP)
#: Longer messages are sentences, not keywords.
KEYWORD_LENGTH = 20


def keyword(text: str) -> str | None:
    """The payload of a whole-message STOP / START / HELP in any language, else None. The words
    are data: locales/lexicon/<lang>/optout.txt, optin.txt, info.txt (not "cancel", "end" or
    "quit": in a conversation those mean "not this request")."""
    if not text or len(text) > KEYWORD_LENGTH:
        return None
    return _keywords(lexicon.current()).get(lexicon.fold(text))


@lru_cache(maxsize=4)
def _keywords(lex: lexicon.Lexicon) -> dict[str, str]:
    return {lexicon.fold(w): payload for file, payload in lexicon.KEYWORD_FILES.items()
            for words in lex.words.get(file, {}).values() for w in words}


def handle(ctx: Context, payload: str) -> None:
    identity = ctx.identity
    if payload == OPT_OUT:
        if identity.opted_out_at is not None:
            return  # confirmed once already
        identity.opted_out_at = ctx.now
        queue.cancel_queued(ctx.session, identity.channel, identity.address, "opted out")
        _calls_too(ctx, ctx.now)
        ctx.clear()
        ctx.say(_("You will not get any more messages from us on this number. Send START to receive them again."),
                purpose=OPT_OUT)
    elif payload == OPT_IN:
        opt_in(ctx)
    elif ctx.person is not None:
        account.show_help(ctx)
    else:
        ctx.say(_("buurtbot: neighbours helping neighbours. Send START to begin, STOP to get no more messages. "
                  "In an emergency call 112."))


def _calls_too(ctx: Context, at) -> None:
    """STOP by SMS or WhatsApp means "not on this number": the check-in calls to it stop too
    (and START brings them back)."""
    if ctx.identity.channel not in PHONE_CHANNELS:
        return
    ctx.session.execute(update(ChannelIdentity).where(ChannelIdentity.channel == "voice",
                                                      ChannelIdentity.address == ctx.identity.address)
                        .values(opted_out_at=at).execution_options(synchronize_session=False))
    if at is not None:
        queue.cancel_queued(ctx.session, "voice", ctx.identity.address, "opted out")


def opt_in(ctx: Context) -> None:
    """START (or /start) from an address that sent STOP: messages again, and where they were."""
    was_out = ctx.identity.opted_out_at is not None
    ctx.identity.opted_out_at = None
    if was_out:
        _calls_too(ctx, None)
    if ctx.person is None:
        onboarding.start(ctx, None)
    elif was_out:
        show_menu(ctx, _("Welcome back! You will get our messages on this number again."))
    else:
        show_menu(ctx)
