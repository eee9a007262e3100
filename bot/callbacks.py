"""Per-request tokens for vendor callbacks: HMAC of the request id under a server secret.

The secret is made once and kept in the state store, so every replica and every restart
verifies the same tokens. Checking a token needs no database lookup, so a caller without
a valid token learns nothing about which requests exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from bot.store.kv import KeyValueStore

KV_ROW = "callback_secret"  # the name of the kv row holding the secret


class CallbackSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    async def load(cls, kv: KeyValueStore) -> CallbackSigner:
        value = await kv.get_or_create(KV_ROW, lambda: secrets.token_hex(32))
        return cls(bytes.fromhex(value))

    def token(self, request_id: str) -> str:
        return hmac.new(self._secret, request_id.encode(), hashlib.sha256).hexdigest()

    def verify(self, request_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(request_id), token)

    def url(self, public_url: str, path: str, request_id: str) -> str:
        query = urlencode({"request": request_id, "token": self.token(request_id)})
        return f"{public_url.rstrip('/')}{path}?{query}"
