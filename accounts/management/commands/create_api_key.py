import json

from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from accounts.models import Workspace


class Command(BaseCommand):
    help = "Create an API key for a workspace (name or id); the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("workspace")
        parser.add_argument("--name", default="")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, workspace, name, **options):
        try:
            target = selectors.workspace_get_by_name_or_id(identifier=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"no workspace {workspace!r}") from None
        api_key, full_key = services.api_key_create(workspace=target, name=name)
        if options["json"]:
            self.stdout.write(json.dumps({"workspace_id": target.pk, "key_id": api_key.pk, "api_key": full_key}))
        else:
            self.stdout.write(f"API key {api_key.pk} for {target.name} (shown once): {full_key}")
