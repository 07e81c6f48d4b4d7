"""Input and output shapes of the usage endpoint."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

# A total in USD as the selector sums it: a decimal (sent as a string), or the number 0 when the
# sum was empty or zero. Both, so that validating the answer never turns a client's 0 into "0".
Usd = Decimal | int


class UsageQuery(Schema):
    days: int = Field(30, ge=1, le=366, description="how many days back, up to now")


class ModelUsageOut(Schema):
    provider: str
    model_used: str
    requests: int
    cost_usd: Decimal
    saved_usd: Decimal


class DayUsageOut(Schema):
    day: date
    requests: int
    cost_usd: Decimal
    saved_usd: Decimal


class UsageOut(Schema):
    since: datetime
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Usd = Field(description="a decimal string, or 0")
    saved_usd: Usd = Field(description="a decimal string, or 0")
    savings_by_kind: dict[str, Decimal | None] = Field(description="USD saved by each kind of saving")
    cache: dict[str, int] = Field(description="requests by cache status")
    by_model: list[ModelUsageOut]
    by_day: list[DayUsageOut]
