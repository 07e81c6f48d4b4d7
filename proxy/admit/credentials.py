"""Finding the workspace of a request: the Optera key, then the provider key to use upstream."""

from dataclasses import dataclass

from django.conf import settings

from accounts import selectors
from accounts.keys import PREFIX, parse_key
from proxy.db import LastKnown
from proxy.errors import ProxyError


@dataclass(frozen=True)
class Credentials:
    optera_key: str
    provider_key: str | None


def credentials_from(headers, *, native_anthropic=False):
    """Pick the Optera key and the provider key out of the request headers."""
    authorization = headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    optera_key = headers.get("x-optera-key", "").strip()
    provider_key = headers.get("x-provider-key", "").strip() or None
    if native_anthropic and provider_key is None:
        provider_key = headers.get("x-api-key", "").strip() or None
    if optera_key:
        # With the Optera key in its own header, Authorization may carry the provider key.
        if bearer and not bearer.startswith(PREFIX) and provider_key is None:
            provider_key = bearer
    elif bearer.startswith(PREFIX):
        optera_key = bearer
    elif native_anthropic and headers.get("x-api-key", "").startswith(PREFIX):
        optera_key = headers["x-api-key"].strip()
        provider_key = headers.get("x-provider-key", "").strip() or None
    if provider_key and provider_key.startswith(PREFIX):
        provider_key = None  # an Optera key must never travel upstream
    if not optera_key:
        raise ProxyError(
            401,
            "missing Optera API key: send it as 'Authorization: Bearer opt_...' or 'X-Optera-Key'",
            code="missing_api_key",
        )
    return Credentials(optera_key=optera_key, provider_key=provider_key)


class KeyCache:
    """Keeps key records in memory for a few seconds so the hot path skips the database.

    A revoked key stops working once its cached record expires: within OPTERA_KEY_CACHE_SECONDS
    (at most 5). Unknown public ids are cached too, so a flood of bad keys costs one query each.

    While PostgreSQL is unreachable, a key this process checked within OPTERA_KEY_OUTAGE_SECONDS
    (ten minutes) is served from its last record, flagged as stale; any other key gets a 503.
    The cost: a key revoked during an outage keeps working until the database is back.
    """

    def __init__(self):
        # Read at start-up, not import: tests and operators set OPTERA_KEY_CACHE_SECONDS.
        self._records = LastKnown(
            ttl_seconds=settings.OPTERA_KEY_CACHE_SECONDS, outage_seconds=settings.OPTERA_KEY_OUTAGE_SECONDS
        )

    def remember(self, record):
        """Hold a key record read ahead (a warm start), as if a request had just read it."""
        self._records.put(record.public_id, record)

    async def authenticate(self, raw_key):
        """Return (KeyRecord, stale) for a valid, active key or raise 401; stale when read from memory in an outage."""
        parts = parse_key(raw_key)
        if parts is None:
            raise ProxyError(401, "invalid Optera API key", code="invalid_api_key")
        record, stale = await self._records.get(parts.public_id, selectors.key_record_find, public_id=parts.public_id)
        if record is None or not selectors.key_record_verify(record=record, raw_key=raw_key):
            raise ProxyError(401, "invalid Optera API key", code="invalid_api_key")
        return record, stale


def operator_key_for(provider, record):
    """Return the operator's key for `provider` when the workspace may use it, else None."""
    if not record.settings.allow_operator_keys:
        return None
    if provider == "openai":
        return settings.OPERATOR_OPENAI_API_KEY or None
    return settings.OPERATOR_ANTHROPIC_API_KEY or None
