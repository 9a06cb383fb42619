"""One phone, one person: someone known by their phone number -- joined on WhatsApp, or enrolled
by a coordinator for check-ins by phone call or SMS -- who writes from that number on WhatsApp
or SMS is that same person, not a newcomer asked to join again.

The Twilio channel calls ``link`` before each message (in the message's transaction). Someone
enrolled by a coordinator who writes to the bot for the first time is greeted by name: their
first message goes through the ``hello.enrolled`` step, which says hello and then handles what
they wrote as usual.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.core import Answer, Context, clean_text
from handlers.i18n import _
from handlers.keywords import signals as find_signals
from handlers.menu import show_menu
from handlers.steps import step
from models import ChannelIdentity, ConversationState, Person

#: Channels whose address is the phone number in E.164 (a "voice" identity: check-in calls).
PHONE_CHANNELS = ("whatsapp", "sms", "voice")
WELCOME = "hello.enrolled"


def link(session: Session, channel: str, address: str) -> None:
    """Before a message from ``address`` on ``channel`` (WhatsApp or SMS): a phone already known
    (another Twilio channel's identity, a check-in call's, or a person's own phone) makes it
    the same person; someone who never wrote before gets the greeting by name."""
    identity = session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                                            ChannelIdentity.address == address))
    if identity is not None:
        if identity.person_id is not None and identity.last_inbound_at is None:
            _greet_if_first(session, identity)
        return
    person_id = session.scalar(select(ChannelIdentity.person_id).where(
        ChannelIdentity.channel.in_([c for c in PHONE_CHANNELS if c != channel]), ChannelIdentity.address == address,
        ChannelIdentity.person_id.is_not(None)).order_by(ChannelIdentity.id).limit(1))
    if person_id is None:
        person_id = session.scalar(select(Person.id).where(Person.phone == address).order_by(Person.id).limit(1))
    if person_id is None:
        return
    person = session.get(Person, person_id)
    identity = ChannelIdentity(channel=channel, address=address, person_id=person_id, language=person.language)
    session.add(identity)
    session.flush()
    _greet_if_first(session, identity)


def _greet_if_first(session: Session, identity: ChannelIdentity) -> None:
    """Nobody of theirs ever wrote to the bot (they were enrolled): their first message is greeted."""
    wrote = session.scalar(select(ChannelIdentity.id).where(ChannelIdentity.person_id == identity.person_id,
                                                            ChannelIdentity.last_inbound_at.is_not(None)).limit(1))
    if wrote is not None:
        return
    state = session.get(ConversationState, identity.id)
    if state is None:
        session.add(ConversationState(identity_id=identity.id, step=WELCOME, data={}, options=[]))
    elif not state.step and not state.options:  # with options waiting (a check-in's 1/2/3) they answer those
        state.step = WELCOME
    session.flush()


@step(WELCOME)
def on_first_message(ctx: Context, answer: Answer) -> None:
    """Hello by name; then what they wrote is handled as any message (a request, a worry), or
    the menu when it was only a hello."""
    from handlers import dispatch, free_text  # dispatch imports the flow modules: only when a message runs

    ctx.clear()
    hello = _("Hello {name}, good to hear from you!", name=ctx.person.first_name)
    text = clean_text(answer.text)
    meant = answer.payload is None and free_text.is_sentence(text) and (
        find_signals(text) or free_text.names_help(free_text.understood(ctx, text)))
    if meant:
        ctx.say(hello)
        dispatch.route(ctx)
    else:
        show_menu(ctx, hello + "\n" + _("What would you like to do?"))
