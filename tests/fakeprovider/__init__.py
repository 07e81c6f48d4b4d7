"""A fake OpenAI + Anthropic provider: a real local HTTP server for the proxy's tests and benchmarks.

with FakeProvider() as fake:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test")
    fake.enqueue(Fault(status=429, headers={"Retry-After": "1"}))
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
