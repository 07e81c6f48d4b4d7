"""Usage endpoint of the management API: what a workspace spent and saved, and how."""

from datetime import timedelta

from django.utils import timezone
from ninja import Query, Router
from ninja.security import django_auth

from accounts.permissions import ANY_MEMBER, workspace_for
from analytics import selectors
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
    return selectors.workspace_usage(workspace_id=workspace.pk, since=since)
