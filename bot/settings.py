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

    telegram_bot_token: str | None = None
    telegram_bot_username: str | None = None

    scheduler_tick_seconds: int = Field(30, ge=5)
    request_expiry_days: int = Field(14, ge=1)

    @property
    def channels(self) -> list[str]:
        """The real channels whose credentials are present."""
        return ["telegram"] if self.telegram_bot_token else []

    def invite_link(self, code: str) -> str | None:
        """The Telegram deep link for an invite code, when a bot is configured."""
        if self.telegram_bot_token and self.telegram_bot_username:
            return f"https://t.me/{self.telegram_bot_username.lstrip('@')}?start={code}"
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
