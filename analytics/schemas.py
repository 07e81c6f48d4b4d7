"""Input and output shapes of the usage endpoint."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field

# A total in USD as the selector sums it: a decimal (sent as a string), or the number 0 when the
# sum was empty or zero. Both, so that validating the answer never turns a client's 0 into "0".
Usd = Decimal | int


class UsageQuery(Schema):
    days: int = Field(30, ge=1, le=366, description="how many days back, up to now")
    group_by: Literal["user", "tag", "session", "key", "model"] | None = Field(
        None, description="add `groups`: spend by end user, tag, session, key (its preview) or model, by cost"
    )
    limit: int = Field(100, ge=1, le=1000, description="groups per page")
    # Bounded so that a huge offset is a 400, not a number PostgreSQL cannot hold (bigint).
    offset: int = Field(0, ge=0, le=1_000_000_000, description="groups to skip")
    format: Literal["json", "csv"] = Field("json", description="csv: the groups as CSV (needs group_by)")


class GroupUsageOut(Schema):
    key: str = Field(description='the end user, tag, session, key preview or model; "" for requests without one')
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    saved_usd: Decimal


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
    logs_since: datetime = Field(
        description="the figures from here on are summed from request logs; earlier days from the daily "
        "rollups kept past the logs' retention (`groups` come from the logs alone)"
    )
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
    groups: list[GroupUsageOut] | None = Field(None, description="with group_by: one page of groups, by cost")
