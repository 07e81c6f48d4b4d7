import json

from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._options import workspace_from
from billing.alerts import InvalidWebhook, webhook_set


class Command(BaseCommand):
    help = "Set the URL a workspace's budget alerts are POSTed to; prints the signing secret (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="WORKSPACE", help="name or id")
        parser.add_argument("url", metavar="URL")
        parser.add_argument("--json", action="store_true", dest="as_json", help='print {"secret": ...}')

    def handle(self, *args, workspace, url, as_json, **options):
        try:
            webhook, secret = webhook_set(workspace=workspace_from(workspace), url=url)
        except InvalidWebhook as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(json.dumps({"secret": secret, "url": webhook.url}))
        else:
            self.stdout.write(f"Webhook set: {webhook.url}\nSigning secret (shown once): {secret}")
