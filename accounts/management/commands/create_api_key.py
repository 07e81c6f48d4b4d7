import json

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.management.commands._options import workspace_from
from accounts.models import ServiceTier


class Command(BaseCommand):
    help = "Create an API key for a workspace (name or id); the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("workspace")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--tier", choices=ServiceTier.values, default="", help="the key's default tier (else the workspace's)"
        )
        parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute for this key alone")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, workspace, name, tier, rate_limit, **options):
        target = workspace_from(workspace)
        if rate_limit is not None and rate_limit < 1:
            raise CommandError("--rate-limit is a whole number of requests per minute, at least 1")
        try:
            api_key, full_key = services.api_key_create(
                workspace=target, name=name, tier=tier, rate_limit_per_minute=rate_limit
            )
        except services.KeyLimitReached as refusal:
            raise CommandError(str(refusal)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"workspace_id": target.pk, "key_id": api_key.pk, "api_key": full_key}))
        else:
            self.stdout.write(f"API key {api_key.pk} for {target.name} (shown once): {full_key}")
