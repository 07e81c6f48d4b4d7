import json

from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._options import workspace_from
from billing import services
from billing.models import Plan, WorkspacePlan


class Command(BaseCommand):
    help = (
        "Give a workspace (name or id) a plan (name or id) without Stripe: comped, and left alone by Stripe's "
        "events. Giving it the default plan ends the comp."
    )

    def add_arguments(self, parser):
        parser.add_argument("workspace")
        parser.add_argument("plan")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, workspace, plan, **options):
        target = workspace_from(workspace)
        chosen = Plan.objects.filter(name=plan).first() or (
            Plan.objects.filter(pk=plan).first() if plan.isdigit() else None
        )
        if chosen is None:
            raise CommandError(f"no plan {plan!r}")
        before = WorkspacePlan.objects.filter(workspace=target).first()
        row = services.workspace_plan_set(workspace=target, plan=chosen)
        if options["json"]:
            self.stdout.write(json.dumps({"workspace_id": target.pk, "plan": chosen.name, "status": row.status}))
        else:
            self.stdout.write(f"{target.name} is on {chosen.name} ({row.status})")
        if before is not None and before.stripe_subscription_id and before.status in services.SUBSCRIBED:
            self.stderr.write(
                f"{target.name} still has Stripe subscription {row.stripe_subscription_id}: cancel it in Stripe "
                "if it should stop paying"
            )
