"""Settings: one object, read from the environment and `.env`. The env names are the public contract."""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DB_URL = "sqlite+aiosqlite:///./leadgram.db"


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

    ig_access_token: SecretStr | None = None
    ig_user_id: str = "me"
    ig_api_base: str = "https://graph.instagram.com"
    ig_api_version: str = "v21.0"

    secret_key: SecretStr | None = None
    sync_interval_minutes: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"

    @field_validator("allowed_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
        return value

    @field_validator("ig_api_base", "telegram_api_base", "gemini_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad variable, never its value (it may be a token)."""
    err = exc.errors()[0]
    name = str(err["loc"][0]).upper() if err["loc"] else "settings"
    return f"leadgram: invalid setting {name}: {err['msg']}"


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
