"""Settings from the environment and an optional .env file (see .env.example)."""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///buurtbot.db"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    rate_limit_per_minute: int = Field(20, ge=1)

    public_base_url: str | None = None

    telegram_bot_token: str | None = None
    telegram_bot_username: str | None = None
    telegram_mode: str | None = Field(None, pattern="^(polling|webhook)$")
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_secret: str | None = None
    telegram_rate_overall: float = Field(30.0, gt=0)
    telegram_rate_per_chat: float = Field(1.0, gt=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_sms_from: str | None = None
    twilio_api_base_url: str | None = None
    twilio_templates_file: str | None = None
    twilio_rate_whatsapp: float = Field(10.0, gt=0)
    twilio_rate_sms: float = Field(1.0, gt=0)
    twilio_sms_max_segments: int = Field(4, ge=1, le=10)
    #: Phone calls (check-ins by voice): on when this and the account are set.
    twilio_voice_from: str | None = None
    twilio_rate_voice: float = Field(1.0, gt=0)
    #: Voices per language, "nl=Polly.Lisa-Neural,fr=Polly.Isabelle-Neural" (else each language's own, see
    #: locales/lexicon/<lang>/language.txt ``voice:``).
    twilio_voices: str | None = None

    scheduler_tick_seconds: int = Field(30, ge=5)
    request_expiry_days: int = Field(14, ge=1)
    #: A check-in the scheduler finds later than this (buurtbot was down) is not sent late: it is
    #: reported to the coordinator as "missed by the system".
    checkin_grace_minutes: int = Field(60, ge=1)
    #: An open request nobody claimed for this many hours goes to the coordinator.
    unclaimed_alert_hours: int = Field(24, ge=1)
    #: After this many days unclaimed, the requester is asked whether help is still needed.
    still_needed_days: int = Field(3, ge=1)
    #: Quiet hours (Brussels time) for what buurtbot says first -- a hello, a reminder, a broadcast -- for
    #: people whose check-in plan does not set their own; "00:00-00:00" means none.
    quiet_hours: str = Field("21:00-08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    #: A warm referral not closed with an outcome after this many days is brought back to the coordinators.
    referral_remind_days: int = Field(7, ge=1)
    #: The weekly digest to coordinators: weekday (0 = Monday) and local time (Europe/Brussels).
    digest_weekday: int = Field(0, ge=0, le=6)
    digest_time: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    #: What one SMS segment costs, for a broadcast's cost estimate (EUR; Twilio's price to Belgium).
    sms_segment_price_eur: float = Field(0.09, ge=0)

    @property
    def default_database(self) -> bool:
        """Whether DATABASE_URL is unset (or spelled as the default): the embedded SQLite file in
        the working directory, the only database `buurtbot run` may turn into the demo."""
        return self.database_url == type(self).model_fields["database_url"].default

    @property
    def channels(self) -> list[str]:
        """The real channels whose credentials are present."""
        found = ["telegram"] if self.telegram_bot_token else []
        if self.twilio_account_sid and self.twilio_auth_token:
            found += [name for name, sender in (("whatsapp", self.twilio_whatsapp_from), ("sms", self.twilio_sms_from))
                      if sender]
            if self.twilio_voice_from and self.public_base_url:  # Twilio must reach the call's routes
                found.append("voice")
        return found

    @property
    def telegram_webhook_mode(self) -> bool:
        """Webhook when asked for, or when a public URL exists and no mode is set; else polling."""
        return self.telegram_mode == "webhook" or (self.telegram_mode is None and bool(self.public_base_url))

    @property
    def telegram_secret(self) -> str:
        """The webhook secret: configured, or derived from the token so restarts agree."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        import hashlib

        return hashlib.sha256(f"buurtbot-webhook:{self.telegram_bot_token}".encode()).hexdigest()[:48]

    def invite_link(self, code: str) -> str | None:
        """The Telegram deep link for an invite code, when a bot is configured and its username
        is known (TELEGRAM_BOT_USERNAME, or asked from Telegram by `buurtbot invite`)."""
        if self.telegram_bot_token and self.telegram_bot_username:
            return f"https://t.me/{self.telegram_bot_username.lstrip('@')}?start={code}"
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
