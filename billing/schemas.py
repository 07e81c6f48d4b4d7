"""Input and output shapes of the billing endpoints; inputs list every field they accept."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema


class CheckoutIn(Schema):
    model_config = {"extra": "forbid"}

    plan: str = Field(..., min_length=1, max_length=60, description="the name of a plan sold through Stripe")


class RedirectOut(Schema):
    url: str = Field(description="where to send the user: a Stripe-hosted page")


class BudgetIn(Schema):
    model_config = {"extra": "forbid"}

    scope: str = Field(
        "workspace",
        max_length=140,
        description="workspace, key:KEY_ID, user:END_USER or tag:TAG",
        examples=["tag:search"],
    )
    usd: Decimal = Field(..., ge=0, lt=100_000_000, description="the budget in USD for each period")
    period: Literal["day", "week", "month"] = Field(..., description="a UTC day, ISO week or calendar month")
    hard: bool = Field(True, description="refuse requests past it (429 budget_exceeded); false: alert only")


class BudgetOut(Schema):
    id: int
    scope: str = Field(description="workspace, key:KEY_ID, user:END_USER or tag:TAG")
    usd: Decimal
    period: str
    hard: bool
    description: str
    spent_usd: Decimal = Field(description="what the current period has spent (list price; cache hits cost 0)")
    resets_at: datetime


class WebhookIn(Schema):
    model_config = {"extra": "forbid"}

    url: str = Field(..., min_length=1, max_length=500, description="http(s) URL on a public address")


class WebhookSetOut(Schema):
    url: str
    secret: str = Field(description="signs every delivery (X-Optera-Signature); shown only now")


class WebhookDeliveryOut(Schema):
    event_type: str
    payload: dict
    attempts: int
    status_code: int | None
    error: str
    delivered_at: datetime | None
    created_at: datetime


class WebhookOut(Schema):
    url: str
    created_at: datetime
    deliveries: list[WebhookDeliveryOut] = Field(description="the latest deliveries, newest first")
