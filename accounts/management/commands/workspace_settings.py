import json

from django.core.management.base import BaseCommand

from accounts import services
from accounts.management.commands._options import settings_changes_from, workspace_from
from accounts.models import WorkspaceSettings
from accounts.workspace_options import OPTIONS, describe


class Command(BaseCommand):
    help = "Print a workspace's settings and change them with --set KEY=VALUE."

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="NAME")
        parser.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="; ".join(f"{option.name}: {option.help}" for option in OPTIONS),
        )

    def handle(self, *args, workspace, set, **options):
        target = workspace_from(workspace)
        changes = settings_changes_from(set)
        if changes:
            workspace_settings = services.workspace_settings_update(workspace=target, changes=changes)
        else:
            workspace_settings, _ = WorkspaceSettings.objects.get_or_create(workspace=target)
        self.stdout.write(json.dumps(describe(workspace_settings), indent=2, sort_keys=True))
