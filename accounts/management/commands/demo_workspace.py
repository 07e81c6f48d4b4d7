from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import Workspace


class Command(BaseCommand):
    help = "Ensure a 'demo' workspace exists and print a fresh key for it (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000")

    def handle(self, *args, port, **options):
        workspace = Workspace.objects.filter(name="demo").first()
        if workspace is None:
            workspace = services.workspace_create(name="demo", owner_email="demo@example.com")
        api_key, full_key = services.api_key_create(workspace=workspace, name="demo key")
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Demo workspace: {workspace.name} (id {workspace.pk})",
                    f"Demo API key (shown once): {full_key}",
                    "Try it (put your OpenAI key in X-Provider-Key):",
                    f"  curl {base}/v1/chat/completions -H 'Authorization: Bearer {full_key}' \\",
                    "       -H \"X-Provider-Key: $OPENAI_API_KEY\" -H 'Content-Type: application/json' \\",
                    '       -d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}\'',
                    f"  Python: OpenAI(base_url='{base}/v1', api_key='{full_key}',",
                    "                 default_headers={'X-Provider-Key': os.environ['OPENAI_API_KEY']})",
                    f"Dashboard: {base}/ (sign up for your own workspace)",
                    f"Admin: {base}/admin/   Health: {base}/healthz",
                    "",
                ]
            )
        )
