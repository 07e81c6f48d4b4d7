"""Usage endpoint of the management API: what a workspace spent and saved, and how."""

import csv
from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router
from ninja.errors import HttpError
from ninja.security import django_auth

from accounts.permissions import ANY_MEMBER, workspace_for
from accounts.selectors import workspace_settings_of
from analytics import selectors, usage
from analytics.schemas import UsageOut, UsageQuery

router = Router(auth=django_auth, tags=["usage"])


@router.get(
    "/workspaces/{workspace_id}/usage",
    response=UsageOut,
    summary="Spend and savings by kind, cache status, model and day",
)
def workspace_usage(request, workspace_id: int, filters: Query[UsageQuery]):
    workspace = workspace_for(request.user, workspace_id, roles=ANY_MEMBER)
    since = timezone.now() - timedelta(days=filters.days)
    if filters.format == "csv" and filters.group_by is None:
        raise HttpError(400, "format=csv needs group_by")
    groups = None
    if filters.group_by is not None:
        groups = selectors.usage_groups(
            workspace_id=workspace.pk,
            since=since,
            group_by=filters.group_by,
            limit=filters.limit,
            offset=filters.offset,
        )
    if filters.format == "csv":
        return _groups_csv(groups, filters.group_by)
    retention_days = workspace_settings_of(workspace=workspace).retention_days
    totals = usage.workspace_usage(workspace_id=workspace.pk, since=since, retention_days=retention_days)
    return {**totals, "groups": groups}


def _groups_csv(groups, group_by):
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="optera-usage-by-{group_by}.csv"'
    writer = csv.writer(response)
    writer.writerow([group_by, "requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "saved_usd"])
    for group in groups:
        # A leading = + - @ would make a spreadsheet run the customer's own identifier as a formula.
        key = f"'{group['key']}" if group["key"][:1] in ("=", "+", "-", "@") else group["key"]
        writer.writerow([key, *(group[column] for column in list(group)[1:])])
    return response
