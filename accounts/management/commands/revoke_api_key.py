from django.core.management.base import BaseCommand, CommandError

from accounts import selectors, services
from accounts.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key by id, public id or preview; proxies refuse it within 5 seconds."

    def add_arguments(self, parser):
        parser.add_argument("key", metavar="ID_OR_PREVIEW")

    def handle(self, *args, key, **options):
        try:
            api_key = selectors.api_key_get_by_id_or_preview(identifier=key)
        except ApiKey.DoesNotExist:
            raise CommandError(f"no API key {key!r}") from None
        except ApiKey.MultipleObjectsReturned:
            raise CommandError(f"several keys match {key!r}; give the key's id") from None
        services.api_key_revoke(api_key=api_key)
        self.stdout.write(f"Revoked {api_key.preview} (id {api_key.pk}) of {api_key.workspace.name}")
