import json

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from accounts import services
from accounts.management.commands._options import settings_changes_from


class Command(BaseCommand):
    help = "Create a workspace and its first API key; the key is printed once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--email", help="owner's email (creates the user if needed)")
        parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="a workspace option")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, name, email, set, json: bool, **options):
        changes = settings_changes_from(set)
        try:
            workspace = services.workspace_create(name=name, owner_email=email, settings_changes=changes)
        except IntegrityError:
            raise CommandError(f"a workspace named {name!r} exists already") from None
        api_key, full_key = services.api_key_create(workspace=workspace, name="first key")
        if json:
            self.stdout.write(_json_line({"workspace_id": workspace.pk, "api_key": full_key}))
        else:
            self.stdout.write(f"Workspace {workspace.name} (id {workspace.pk})")
            self.stdout.write(f"API key (shown once): {full_key}")


def _json_line(payload):
    return json.dumps(payload, separators=(",", ":"))
