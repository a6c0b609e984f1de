"""Encrypts stored Instagram tokens with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from core.config import Settings

_DEV_KEY = "leadgram-dev-key-change-me"


class TokenCipher:
    def __init__(self, secret: str) -> None:
        digest = hashlib.sha256(secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        secret = settings.secret_key.get_secret_value() if settings.secret_key else _DEV_KEY
        return cls(secret)

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, blob: str) -> str | None:
        """None when the key changed: the creator must reconnect rather than crash the sync."""
        try:
            return self._fernet.decrypt(blob.encode()).decode()
        except InvalidToken:
            return None
