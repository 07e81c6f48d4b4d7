from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from accounts.models import Workspace


class Command(BaseCommand):
    help = (
        "Delete a workspace: its keys, members, settings and cache at once, its request logs in the "
        "background purge. Proxies refuse its keys within 5 seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="NAME_OR_ID")
        parser.add_argument("--yes", action="store_true", help="confirm; nothing is deleted without it")

    def handle(self, *args, workspace, yes=False, **options):
        try:
            found = selectors.workspace_get_by_name_or_id(identifier=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"no workspace {workspace!r}") from None
        if not yes:
            raise CommandError(f"this deletes {found.name!r} and all its data; run again with --yes")
        services.workspace_delete(workspace=found)
        self.stdout.write(f"Deleted workspace {found.name} (id {found.pk}); its request logs are being purged")
