"""Finding the workspace of a request: the Optera key, then the provider key to use upstream."""

from dataclasses import dataclass

from django.conf import settings

from accounts import selectors
from accounts.keys import PREFIX, parse_key
from proxy.db import in_db_thread
from proxy.errors import ProxyError
from proxy.memo import MISSING, BoundedMemo


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
    """

    def __init__(self):
        # Read at start-up, not import: tests and operators set OPTERA_KEY_CACHE_SECONDS.
        self._records = BoundedMemo(ttl_seconds=settings.OPTERA_KEY_CACHE_SECONDS)

    async def authenticate(self, raw_key):
        """Return the KeyRecord of a valid, active key or raise 401."""
        parts = parse_key(raw_key)
        if parts is None:
            raise ProxyError(401, "invalid Optera API key", code="invalid_api_key")
        record = await self._record(parts.public_id)
        if record is None or not selectors.key_record_verify(record=record, raw_key=raw_key):
            raise ProxyError(401, "invalid Optera API key", code="invalid_api_key")
        return record

    async def _record(self, public_id):
        record = self._records.get(public_id, MISSING)
        if record is MISSING:
            record = await in_db_thread(selectors.key_record_find, public_id=public_id)
            self._records.put(public_id, record)
        return record


def operator_key_for(provider, record):
    """Return the operator's key for `provider` when the workspace may use it, else None."""
    if not record.settings.allow_operator_keys:
        return None
    if provider == "openai":
        return settings.OPERATOR_OPENAI_API_KEY or None
    return settings.OPERATOR_ANTHROPIC_API_KEY or None
