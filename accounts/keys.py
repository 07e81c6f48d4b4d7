"""The format and hashing of Optera API keys.

A key reads `opt_<public id>_<secret>`. The public id finds the row; the secret (32 random bytes)
is stored only as HMAC-SHA256 keyed with a server pepper over a per-key salt and the secret, so a
database dump reveals neither the key nor an unsalted hash of it. High-entropy secrets need no
slow password hasher: a fast keyed hash cannot be brute-forced without the pepper.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings

PREFIX = "opt_"
PUBLIC_ID_BYTES = 8
SECRET_BYTES = 32
PREVIEW_CHARS = 4
HASH_VERSION = "v1"


@dataclass(frozen=True)
class KeyParts:
    public_id: str
    secret: str


def generate_key():
    """Return (public_id, secret, full key) for a new key."""
    public_id = secrets.token_hex(PUBLIC_ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return public_id, secret, f"{PREFIX}{public_id}_{secret}"


def parse_key(raw):
    """Return the KeyParts of a well-formed key, or None."""
    if not isinstance(raw, str) or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    public_id, separator, secret = raw[len(PREFIX) :].partition("_")
    if not separator or len(public_id) != PUBLIC_ID_BYTES * 2 or len(secret) < 40:
        return None
    return KeyParts(public_id=public_id, secret=secret)


def new_salt():
    return secrets.token_hex(16)


def _pepper():
    return hashlib.sha256(f"optera.api-key-pepper.{HASH_VERSION}:{settings.SECRET_KEY}".encode()).digest()


def _hash_key_pepper():
    return hashlib.sha256(f"optera.workspace-hash-key.{HASH_VERSION}:{settings.SECRET_KEY}".encode()).digest()


def workspace_hash_key(cache_secret):
    """Return the key of a workspace's stored hashes: its own secret, keyed again with the server's.

    Cache keys, context and prompt hashes and semantic fingerprints are HMACs under this key. The
    workspace's secret sits in the database; SECRET_KEY does not, so a dump alone (secret included)
    cannot test guessed words against a fingerprint. A new SECRET_KEY turns every stored hash into
    a miss, never into a wrong hit.
    """
    return hmac.new(_hash_key_pepper(), cache_secret.encode(), hashlib.sha256).hexdigest()


def hash_secret(*, salt, secret):
    """Return the hex HMAC stored for a key's secret."""
    message = f"{HASH_VERSION}:{salt}:{secret}".encode()
    return hmac.new(_pepper(), message, hashlib.sha256).hexdigest()


def secret_matches(*, salt, stored_hash, secret):
    """Compare a presented secret with the stored hash in constant time."""
    return hmac.compare_digest(hash_secret(salt=salt, secret=secret), stored_hash)


def preview_of(secret):
    return f"{PREFIX}…{secret[-PREVIEW_CHARS:]}"
