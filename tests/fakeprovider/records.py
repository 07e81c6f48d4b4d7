"""Value objects the fake provider hands to tests: faults to inject and records of what happened."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by the next matching request.

    Fields combine: `Fault(delay_before_headers=2, status=503)` waits, then fails.
    """

    # Exact request path to match ("/v1/messages"); None matches any provider path.
    path: str | None = None
    # Only requests whose body asks for this OpenAI `service_tier` ("flex") draw the fault; None: any.
    service_tier: str | None = None
    # Answer with this HTTP status and a provider-shaped error body instead of a result.
    status: int | None = None
    # Extra response headers, for example {"Retry-After": "1"}; sent with error and normal answers.
    headers: Mapping[str, str] = field(default_factory=dict)
    # Overrides the default error message / provider error type / OpenAI error code of a `status` fault.
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    # Seconds to wait before sending the status line and headers.
    delay_before_headers: float = 0.0
    # Seconds between stream chunks for this request (overrides FakeProvider.chunk_delay).
    chunk_delay: float | None = None
    # Words appended to the answer, to make a long (and, with chunk_delay, slow) stream.
    filler_words: int = 0
    # Answer with exactly this text instead of "Echo: <prompt>" (a provider answer the request could not hold).
    answer_text: str | None = None
    # Send this many stream chunks (SSE events), then close the TCP connection mid-body.
    drop_after_chunks: int | None = None
    # Close the connection at once, without sending any response.
    close_connection: bool = False
    # Stream framing as some servers and proxies send it: CRLF line ends, and ": ping" comments between events.
    crlf: bool = False
    sse_comments: bool = False
    # Claude: split a text answer over this many text blocks (whole and streamed).
    text_blocks: int = 1
    # Send this many stream events, then an in-stream error event (the provider's own shape), then end.
    error_after_chunks: int | None = None
    # Hold the request before its headers until FakeProvider.release_held() (or reset()): a test can
    # then see what happens while an upstream call is outstanding, without timing anything.
    hold: bool = False
    # How many consecutive matching requests this fault applies to.
    times: int = 1

    @classmethod
    def flex_unavailable(cls, *, times: int = 1) -> Fault:
        """Refuse the next `times` flex requests as OpenAI does when flex has no capacity: 429 resource_unavailable."""
        return cls(
            path="/v1/chat/completions",
            service_tier="flex",
            status=429,
            error_code="resource_unavailable",
            error_message="Flex processing has no capacity right now; retry later or use the default tier.",
            times=times,
        )

    def applies_to(self, path: str, service_tier: str | None) -> bool:
        """Return True when a request to `path` asking for `service_tier` draws this fault."""
        if self.path is not None and self.path != path:
            return False
        return self.service_tier is None or self.service_tier == service_tier

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from a JSON object with the same field names."""
        known = {field_.name for field_ in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Fault fields: {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class RequestRecord:
    """A request as the fake provider received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    json: Any  # parsed body, or None when the body is empty or not JSON
    received_at: float  # time.monotonic() in the server process


@dataclass(frozen=True)
class DisconnectRecord:
    """A request whose client went away before the response was complete."""

    path: str
    model: str | None
    received_at: float  # time.monotonic()
    noticed_at: float  # time.monotonic() when the server saw the connection closed
    chunks_sent: int  # stream chunks written before the disconnect (0 before headers)
    stage: str  # "before_headers" or "streaming"


@dataclass(frozen=True)
class UsageRecord:
    """The tokens one answer would be billed for, split by price class.

    `input_tokens` excludes cached and cache-written tokens, so the four input classes add up to
    the whole prompt. For OpenAI, prompt_tokens == input_tokens + cache_read_tokens.
    """

    provider: str  # "openai" or "anthropic"
    path: str
    model: str
    api_key: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # 5-minute cache writes
    cache_write_1h_tokens: int = 0
    stream: bool = False
    completed: bool = True  # False when the stream was dropped or the client disconnected
    service_tier: str = "default"  # "flex" when an OpenAI flex model was asked for flex


@dataclass(frozen=True)
class Price:
    """USD per million tokens for one model; unset cache and flex prices fall back to provider rules."""

    input: float
    output: float
    cache_read: float | None = None  # default: 10% of input
    cache_write: float | None = None  # default: 125% of input (Anthropic 5-minute write)
    cache_write_1h: float | None = None  # default: 200% of input
    # OpenAI's flex tier; default: half of each standard price (the Batch rate).
    flex_input: float | None = None
    flex_output: float | None = None
    flex_cache_read: float | None = None

    def on_flex(self) -> Price:
        """Return the flex tier's price."""
        cache_read = self.input * 0.1 if self.cache_read is None else self.cache_read
        return Price(
            input=self.input / 2 if self.flex_input is None else self.flex_input,
            output=self.output / 2 if self.flex_output is None else self.flex_output,
            cache_read=cache_read / 2 if self.flex_cache_read is None else self.flex_cache_read,
        )

    def cost_usd(self, usage: UsageTotals, *, service_tier: str = "default") -> float:
        """Return what the given token counts cost at this price, on the given OpenAI service tier."""
        if service_tier == "flex":
            return self.on_flex().cost_usd(usage)
        cache_read = self.input * 0.1 if self.cache_read is None else self.cache_read
        cache_write = self.input * 1.25 if self.cache_write is None else self.cache_write
        cache_write_1h = self.input * 2 if self.cache_write_1h is None else self.cache_write_1h
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * cache_read
            + usage.cache_write_tokens * cache_write
            + usage.cache_write_1h_tokens * cache_write_1h
        ) / 1_000_000


@dataclass
class UsageTotals:
    """Running token totals for one model."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def add(self, usage: UsageRecord) -> None:
        """Add one answer's usage to the totals."""
        self.requests += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.cache_write_1h_tokens += usage.cache_write_1h_tokens

    def merge(self, other: UsageTotals) -> None:
        """Add another group's totals to these."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cache_write_1h_tokens += other.cache_write_1h_tokens
