import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from djstripe.enums import WebhookEndpointStatus, WebhookEndpointValidation
from djstripe.models import WebhookEndpoint


class Command(BaseCommand):
    help = (
        "Record a Stripe webhook endpoint with its signing secret (whsec_..., from Stripe's dashboard) and print "
        "the path Stripe must post to. Run again with the same secret, it prints the same path."
    )

    def add_arguments(self, parser):
        parser.add_argument("--secret", required=True, help="the endpoint's signing secret, whsec_...")
        parser.add_argument(
            "--id", dest="endpoint_id", default="", help="the endpoint's id in Stripe (we_...), if known"
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, secret, endpoint_id, **options):
        if not secret.startswith("whsec_") or len(secret) < 16:
            raise CommandError("--secret must be the endpoint's signing secret, starting with whsec_")
        endpoint = WebhookEndpoint.objects.filter(secret=secret).first()
        if endpoint is None:
            endpoint = WebhookEndpoint.objects.create(
                id=endpoint_id or f"we_optera_{secrets.token_hex(12)}",
                livemode=settings.STRIPE_LIVE_MODE,
                secret=secret,
                status=WebhookEndpointStatus.enabled,
                enabled_events=["*"],
                url="",
                api_version="",
                stripe_data={},
                djstripe_validation_method=WebhookEndpointValidation.verify_signature,
            )
        path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})
        if options["json"]:
            self.stdout.write(json.dumps({"path": path}))
        else:
            self.stdout.write(f"Stripe posts to https://<this host>{path}")
