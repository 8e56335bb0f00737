"""The web chat's tokens, issued and signed by the server (HMAC-SHA256 with its secret).

A visitor token is a random part and its signature, so a cookie the server never issued (one
planted by a neighbouring site or left on a shared computer for the next resident to chat into)
is recognised and replaced, never adopted. The form token is a signature of the visitor token,
so it needs no cookie of its own: an attacker who can set cookies still cannot make the form
token that goes with one, and one visitor's form token is worthless with another's cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MIN_SECRET_BYTES = 32
LONGEST_TOKEN = 100  # an issued token is 65 characters; anything much longer is not worth hashing


class ChatTokens:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the chat's secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def _sign(self, purpose: str, value: str) -> str:
        """Each purpose signs differently, so a visitor token's signature is never a valid form token."""
        digest = hmac.new(self._secret, f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()

    def new_visitor(self) -> str:
        random = secrets.token_urlsafe(24)
        return f"{random}.{self._sign('visitor', random)}"

    def issued(self, token: str | None) -> str | None:
        """The token if this server (or one sharing its secret) issued it; None for anything else."""
        if not token or len(token) > LONGEST_TOKEN or token.count(".") != 1:
            return None
        random, signature = token.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign("visitor", random).encode()):  # bytes: any text
            return None
        return token

    def form_token(self, visitor: str) -> str:
        return self._sign("form", visitor)

    def form_ok(self, visitor: str, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.form_token(visitor).encode())
