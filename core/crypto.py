"""Encrypts stored Instagram tokens with keys derived from SECRET_KEY.

SECRET_KEY may list several keys, comma-separated, newest first: the newest encrypts, every one decrypts
(cryptography's MultiFernet), so a new key can be put in front, `leadgram secrets rotate` re-encrypts every
stored token with it, and then the old key can be dropped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings

DEV_KEY = "leadgram-dev-key-change-me"
GENERATE_HINT = "generate one with: openssl rand -hex 32"


def secret_keys(settings: Settings) -> list[str]:
    """SECRET_KEY's keys, newest first; the built-in development key when it is unset."""
    raw = settings.secret_key.get_secret_value() if settings.secret_key else ""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    return keys or [DEV_KEY]


def uses_dev_key(settings: Settings) -> bool:
    return secret_keys(settings)[0] == DEV_KEY


def dev_key_refusal(settings: Settings) -> str | None:
    """Production processes must not store real tokens under a key published in the source code."""
    if not uses_dev_key(settings):
        return None
    real = [name for name, value in (("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
                                     ("IG_ACCESS_TOKEN", settings.ig_access_token)) if value is not None]
    if not real:
        return None
    return (f"leadgram: SECRET_KEY is not set, but {real[0]} is: stored Instagram tokens would be encrypted with "
            f"the built-in development key; set SECRET_KEY to a long random value ({GENERATE_HINT})")


DEV_KEY_NOTICE = ("leadgram: using the built-in development SECRET_KEY (fine for the demo; "
                  f"set SECRET_KEY before storing real tokens: {GENERATE_HINT})")


def _fernet(secret: str) -> Fernet:
    # A key of any length becomes a Fernet key through SHA-256 (tokens stored before rotation existed keep working).
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class TokenCipher:
    def __init__(self, secrets: str | Sequence[str]) -> None:
        keys = [secrets] if isinstance(secrets, str) else list(secrets)
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([_fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        return cls(secret_keys(settings))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, blob: str) -> str | None:
        """None when no key opens it (SECRET_KEY changed): the creator must reconnect rather than crash the sync."""
        try:
            return self._fernet.decrypt(blob.encode()).decode()
        except InvalidToken:
            return None

    def rotate(self, blob: str) -> str | None:
        """The same token encrypted with the newest key; None when no key opens it."""
        try:
            return self._fernet.rotate(blob.encode()).decode()
        except InvalidToken:
            return None
