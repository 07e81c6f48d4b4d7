from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from optera.sweeps import SWEEPS, sweep_run


class Command(BaseCommand):
    help = "Run the data sweeps now (all, or those named), as Celery beat does on its schedule."

    def add_arguments(self, parser):
        parser.add_argument(
            "names", nargs="*", metavar="NAME", help=", ".join(f"{sweep.name}: {sweep.removes}" for sweep in SWEEPS)
        )
        parser.add_argument(
            "--as-of",
            help="run as if the clock read this ISO 8601 date and time with its offset (e.g. 2027-01-31T00:00:00Z)",
        )

    def handle(self, *args, names, as_of, **options):
        known = [sweep.name for sweep in SWEEPS]
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CommandError(f"unknown sweep {', '.join(unknown)}: choose from {', '.join(known)}")
        now = None
        if as_of is not None:
            now = parse_datetime(as_of.replace("Z", "+00:00"))
            if now is None or now.tzinfo is None:
                raise CommandError(f"--as-of {as_of!r} is not an ISO 8601 date and time with an offset or Z")
        for name in names or known:
            removed = sweep_run(name, now=now)
            self.stdout.write(f"{name}: removed {removed}")
