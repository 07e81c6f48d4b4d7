import json

from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands._options import workspace_from
from billing.budgets import InvalidBudget, budget_scope_parse, budget_set


class Command(BaseCommand):
    help = "Set a USD budget per day, week or month on a workspace, one of its keys, an end user or a tag."

    def add_arguments(self, parser):
        parser.add_argument("workspace", metavar="WORKSPACE", help="name or id")
        parser.add_argument("--scope", default="workspace", help="workspace | key:KEY_ID | user:END_USER | tag:TAG")
        parser.add_argument("--usd", required=True, help="the budget in USD")
        parser.add_argument("--period", required=True, choices=["day", "week", "month"])
        parser.add_argument("--soft", action="store_true", help="alert only; a hard budget refuses requests")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the budget as JSON")

    def handle(self, *args, workspace, scope, usd, period, soft, as_json, **options):
        target = workspace_from(workspace)
        try:
            scope_kind, scope_value = budget_scope_parse(scope)
            budget = budget_set(
                workspace=target, scope=scope_kind, scope_value=scope_value, usd=usd, period=period, hard=not soft
            )
        except InvalidBudget as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "budget_id": budget.pk,
                        "workspace_id": target.pk,
                        "scope": budget.scope,
                        "scope_value": budget.scope_value,
                        "usd": str(budget.usd),
                        "period": budget.period,
                        "hard": budget.hard,
                    }
                )
            )
        else:
            self.stdout.write(f"Set {budget}.")
