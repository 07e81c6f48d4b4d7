"""What one request carries through the five stages."""

from dataclasses import dataclass, field

from accounts.selectors import KeyRecord
from proxy.account.accounting import RelayedStream
from proxy.account.record import RequestRecord
from proxy.admit.credentials import Credentials, operator_key_for
from proxy.admit.options import RequestOptions
from proxy.admit.quotas import QuotaTicket
from proxy.asgi_io import Responder
from proxy.errors import ProxyError
from proxy.runtime import ProxyRuntime

ANTHROPIC_KEY_PREFIXES = ("sk-ant-",)
OPENAI_KEY_PREFIXES = ("sk-proj-", "sk-svcacct-", "sk-admin-")


def key_fits(provider_key, provider):
    """Return False for a key recognisably issued by the other provider, so it is never sent there."""
    if provider_key.startswith(ANTHROPIC_KEY_PREFIXES):
        return provider == "anthropic"
    if provider_key.startswith(OPENAI_KEY_PREFIXES):
        return provider == "openai"
    return True


@dataclass
class RequestContext:
    """Made at admission once the key is known; `record` is what the account stage logs."""

    runtime: ProxyRuntime
    record: RequestRecord
    responder: Responder
    headers: dict
    credentials: Credentials
    key_record: KeyRecord
    options: RequestOptions
    response_headers: list = field(default_factory=list)
    # The Anthropic prompt-cache TTL chosen for this request ("5m", "1h" or "none"), once chosen.
    provider_cache_ttl: str = ""
    # Set by the relay of a stream: the account stage prices it from the outcome.
    relayed_stream: RelayedStream | None = None
    # What the request took from its plan's monthly quotas; the account stage settles it.
    quota: QuotaTicket | None = None

    def provider_key(self, provider, *, primary):
        """Return the key to call `provider` with: the client's, else the operator's when allowed."""
        explicit = self.headers.get(f"x-provider-key-{provider}")
        if explicit:
            return explicit.strip()
        # X-Provider-Key belongs to the provider of the model the client asked for; a fallback to
        # another provider needs its own header or the operator's key.
        if primary and self.credentials.provider_key and key_fits(self.credentials.provider_key, provider):
            return self.credentials.provider_key
        return operator_key_for(provider, self.key_record)

    def require_provider_key(self, provider):
        key = self.provider_key(provider, primary=True)
        if not key:
            raise ProxyError(
                401,
                f"missing provider key for {provider}: send it in the X-Provider-Key header",
                code="missing_provider_key",
            )
        return key

    def optera_headers(self):
        record = self.record
        headers = [
            ("x-optera-request-id", record.request_id),
            ("x-optera-cache", record.cache_status),
        ]
        if record.model_used:
            headers.append(("x-optera-model", record.model_used))
        if record.provider:
            headers.append(("x-optera-provider", record.provider))
        if record.tier:
            headers.append(("x-optera-tier", record.tier))
        if record.provider_cache_ttl:
            # Not X-Optera-Cache-TTL: that request header narrows Optera's own cache's TTL in seconds.
            headers.append(("x-optera-provider-cache-ttl", record.provider_cache_ttl))
        if record.degraded:
            headers.append(("x-optera-degraded", ",".join(sorted(record.degraded))))
        headers.append(("x-optera-overhead-ms", f"{record.overhead_ms():.2f}"))
        return headers + self.response_headers
