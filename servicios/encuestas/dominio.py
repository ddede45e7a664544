"""Survey tokens: single use, random, stored only as a hash. Pure."""

from __future__ import annotations

import hashlib
import secrets


def nuevo_token() -> str:
    return secrets.token_urlsafe(24)


def huella(token: str) -> str:
    # A 192-bit random token needs no slow hash: sha256 is enough to keep it out of the store.
    return hashlib.sha256(token.encode()).hexdigest()
