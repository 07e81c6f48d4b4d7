"""A fake OpenAI + Anthropic provider: a real local HTTP server for the proxy's tests and benchmarks.

with FakeProvider() as fake:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test")
    fake.enqueue(Fault(status=429, headers={"Retry-After": "1"}))
    fake.enqueue(Fault.flex_unavailable())  # OpenAI's 429 resource_unavailable, for a flex request only

It plays OpenAI's flex tier too: `service_tier: "flex"` on a flex model (FLEX_MODELS in
openai_api.py) is answered and billed at flex prices (half price unless a Price says otherwise);
on any other model it is a 400, as OpenAI answers.
"""

from .records import DisconnectRecord, Fault, Price, RequestRecord, UsageRecord, UsageTotals
from .server import FakeProvider

__all__ = [
    "DisconnectRecord",
    "FakeProvider",
    "Fault",
    "Price",
    "RequestRecord",
    "UsageRecord",
    "UsageTotals",
]
