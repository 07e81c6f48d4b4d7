from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.management.commands._options import workspace_from


class Command(BaseCommand):
    help = (
        "Delete a workspace: its keys, members, settings and cache at once, its request logs in the "
        "background purge. Proxies refuse its keys within 5 seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="NAME_OR_ID")
        parser.add_argument("--yes", action="store_true", help="confirm; nothing is deleted without it")

    def handle(self, *args, workspace, yes=False, **options):
        found = workspace_from(workspace)
        if not yes:
            raise CommandError(f"this deletes {found.name!r} and all its data; run again with --yes")
        services.workspace_delete(workspace=found)
        self.stdout.write(f"Deleted workspace {found.name} (id {found.pk}); its request logs are being purged")
