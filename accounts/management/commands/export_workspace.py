from django.core.management.base import BaseCommand

from accounts import selectors
from accounts.management.commands._options import workspace_from


class Command(BaseCommand):
    help = "Write everything stored for a workspace as one JSON document (to stdout or --output)."

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="NAME_OR_ID")
        parser.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    def handle(self, *args, workspace, output=None, **options):
        found = workspace_from(workspace)
        chunks = selectors.workspace_export_chunks(workspace=found)
        if output:
            with open(output, "wb") as target:
                target.writelines(chunks)
            self.stderr.write(f"Exported {found.name} to {output}")
            return
        for chunk in chunks:
            self.stdout.write(chunk.decode(), ending="")
        self.stdout.write("")
