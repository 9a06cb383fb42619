"""Wires settings, database, dispatcher and scheduler together; the one place that does."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.media import Media, wire
from bot.settings import Settings
from handlers import language_id
from handlers.dispatch import Dispatcher
from models.db import background_checkpoints, make_engine, make_sessionmaker
from scheduler.runner import Ticks


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    dispatcher: Dispatcher
    ticks: Ticks
    demo: bool = False
    telegram: object | None = None  # bot.channels.telegram.app.TelegramChannel when configured
    twilio: object | None = None  # bot.channels.twilio.app.TwilioChannel when WhatsApp or SMS is configured
    media: Media | None = None  # fetches media from their channel; serves the links Twilio fetches
    voice: object | None = None  # bot.channels.voice.app.VoiceChannel when phone calls are configured

    @classmethod
    def build(cls, settings: Settings, demo: bool = False) -> "Runtime":
        language_id.preload()  # lingua's models now, not while the first typed message waits (about a second)
        from bot.cli_broadcast import apply_settings as broadcast_settings

        broadcast_settings(settings)  # a /broadcast preview's rates, SMS price and segments
        engine = make_engine(settings.database_url)
        background_checkpoints(engine)
        sessions = make_sessionmaker(engine)
        dispatcher = Dispatcher(sessions, rate_limit=settings.rate_limit_per_minute, invite_link=settings.invite_link)
        ticks = Ticks(sessions, settings.scheduler_tick_seconds, settings.request_expiry_days, settings=settings)
        telegram = None
        if settings.telegram_bot_token:
            from bot.channels.telegram.app import TelegramChannel

            telegram = TelegramChannel(settings, dispatcher)
        twilio = None
        if {"whatsapp", "sms"} & set(settings.channels):
            from bot.channels.twilio.app import TwilioChannel

            twilio = TwilioChannel(settings, dispatcher)
        media = wire(settings, telegram, twilio)  # photos and voice notes across channels
        voice = None
        if settings.twilio_voice_from:
            from bot.channels.voice.app import VoiceChannel, enabled

            voice = VoiceChannel(settings, sessions) if enabled(settings) else None
        return cls(settings, engine, sessions, dispatcher, ticks, demo, telegram, twilio, media, voice)
