"""Input and output shapes of the billing endpoints; inputs list every field they accept."""

from ninja import Field, Schema


class CheckoutIn(Schema):
    model_config = {"extra": "forbid"}

    plan: str = Field(..., min_length=1, max_length=60, description="the name of a plan sold through Stripe")


class RedirectOut(Schema):
    url: str = Field(description="where to send the user: a Stripe-hosted page")
