"""What one request carries through the pipeline."""

from dataclasses import dataclass, field

from proxy.auth import Credentials, operator_key_for
from proxy.errors import ProxyError

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
    runtime: object
    record: object
    responder: object
    headers: dict
    credentials: Credentials
    key_record: object = None
    response_headers: list = field(default_factory=list)

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
        headers.append(("x-optera-overhead-ms", f"{record.overhead_ms():.2f}"))
        return headers + self.response_headers
