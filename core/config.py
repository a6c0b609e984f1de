"""Settings: one object, read from the environment and `.env`. The env names are the public contract."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB_URL = "sqlite+aiosqlite:///./leadgram.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

# One scoring job = at most LIMITER_MAX_WAIT_S waiting for a rate-limiter slot + one model call of GEMINI_TIMEOUT_S
# + database writes, all inside SCORE_JOB_TIMEOUT_S (the arq job timeout): GEMINI_TIMEOUT_S is bounded to fit.
SCORE_JOB_TIMEOUT_S = 90.0
LIMITER_MAX_WAIT_S = 20.0
SCORE_DB_MARGIN_S = 10.0
MAX_GEMINI_TIMEOUT_S = SCORE_JOB_TIMEOUT_S - LIMITER_MAX_WAIT_S - SCORE_DB_MARGIN_S


class Settings(BaseSettings):
    # Empty values (as in a copied .env.example) mean "not set".
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True)

    database_url: str = DEFAULT_DB_URL
    redis_url: str | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    allowed_telegram_ids: Annotated[frozenset[int], NoDecode] = frozenset()

    gemini_api_key: SecretStr | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    gemini_rpm: int = Field(default=60, ge=1, le=100_000)
    gemini_timeout_s: float = Field(default=30.0, gt=0)
    gemini_thinking_budget: int | None = Field(default=None, ge=-1, le=32768)  # None: the least the model allows
    gemini_daily_tokens_per_creator: int = Field(default=0, ge=0)  # 0 = unlimited

    ig_access_token: SecretStr | None = None
    ig_user_id: str = "me"
    ig_api_base: str = "https://graph.instagram.com"
    ig_api_version: str = "v21.0"
    # The creator confirms their Meta app was granted the HUMAN_AGENT feature: replies then stay possible for
    # 7 days after the lead's last message (a human's reply only; Leadgram never sends on its own).
    ig_human_agent: bool = False
    ig_send_per_second: int = Field(default=100, ge=1, le=1000)  # Send API calls per account (Meta: 100/s)
    ig_send_timeout_s: float = Field(default=15.0, gt=0)

    secret_key: SecretStr | None = None
    sync_interval_minutes: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"

    @field_validator("allowed_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's setWebhook takes 1-256 of A-Z a-z 0-9 _ -: anything else would fail later, at setWebhook.
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters, only A-Z, a-z, 0-9, _ and - (e.g. openssl rand -hex 32)")
        return value

    @field_validator("ig_api_base", "telegram_api_base", "gemini_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("gemini_timeout_s")
    @classmethod
    def _fits_the_job(cls, value: float) -> float:
        if value > MAX_GEMINI_TIMEOUT_S:
            raise ValueError(
                f"must be at most {MAX_GEMINI_TIMEOUT_S:g} s: one call plus up to {LIMITER_MAX_WAIT_S:g} s of "
                f"rate-limiter wait must fit the {SCORE_JOB_TIMEOUT_S:g} s scoring job timeout")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite://, postgresql+asyncpg:// or postgresql://")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable, never its value (it may be a token)."""
    err = exc.errors()[0]
    name = str(err["loc"][0]).upper() if err["loc"] else "settings"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"leadgram: invalid setting {name}: {msg}"


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SystemExit(describe_error(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)
