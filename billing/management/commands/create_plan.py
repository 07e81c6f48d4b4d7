import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from billing import services, stripe_api
from billing.models import Plan


def spend_cap(value):
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"--spend-cap-usd {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise CommandError(f"--spend-cap-usd {value!r} must be dollars and cents, at least 0")
    return amount


class Command(BaseCommand):
    help = (
        "Create a plan. A paid plan names its Stripe Price (checked with Stripe when billing is on); "
        "quotas left out are unlimited. Edit the other allowances in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--monthly-requests", type=int, metavar="N", help="requests a calendar month (UTC)")
        parser.add_argument("--spend-cap-usd", metavar="X", help="USD forwarded a month, at list price")
        parser.add_argument("--stripe-price", default="", metavar="PRICE_ID", help="the Stripe Price a paid plan sells")
        parser.add_argument("--default", action="store_true", help="the plan of every workspace without another")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, name, monthly_requests, spend_cap_usd, stripe_price, default, **options):
        if Plan.objects.filter(name=name).exists():
            raise CommandError(f"a plan named {name!r} exists already")
        if monthly_requests is not None and monthly_requests < 0:
            raise CommandError("--monthly-requests must be 0 or more")
        cap = spend_cap(spend_cap_usd) if spend_cap_usd is not None else None
        if stripe_price and stripe_api.billing_enabled():
            try:
                services.stripe_price_sync(price_id=stripe_price)
            except services.BillingRefused as refusal:
                raise CommandError(refusal.message) from None
        plan = services.plan_create(
            name=name,
            monthly_request_quota=monthly_requests,
            monthly_spend_cap_usd=cap,
            stripe_price_id=stripe_price,
            is_default=default,
        )
        described = {
            "id": plan.pk,
            "name": plan.name,
            "monthly_request_quota": plan.monthly_request_quota,
            "monthly_spend_cap_usd": str(plan.monthly_spend_cap_usd) if cap is not None else None,
            "stripe_price_id": plan.stripe_price_id,
            "is_default": plan.is_default,
        }
        if options["json"]:
            self.stdout.write(json.dumps(described))
        else:
            self.stdout.write(f"Plan {plan.pk}: {plan.name}" + (" (default)" if plan.is_default else ""))
