"""Workspace endpoints of the management API: export everything stored, delete the workspace.

Signed-in users only (Django session). A workspace the user is not a member of answers 404, so
its existence is not revealed; a member without the role answers 403.
"""

from asgiref.sync import sync_to_async
from django.http import HttpResponse, StreamingHttpResponse
from ninja import Router
from ninja.errors import HttpError
from ninja.security import django_auth

from accounts import selectors, services
from accounts.models import Membership

router = Router(auth=django_auth, tags=["workspaces"])
EXPORT_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
DELETE_ROLES = (Membership.Role.OWNER,)


def _workspace_for(user, workspace_id, *, roles):
    membership = selectors.membership_find(user=user, workspace_id=workspace_id)
    if membership is None:
        raise HttpError(404, "workspace not found")
    if membership.role not in roles:
        raise HttpError(403, f"only a workspace {' or '.join(roles)} may do this")
    return membership.workspace


async def _in_db_thread(chunks):
    """Serve a generator that reads the database as an async stream (one DB thread throughout)."""
    next_chunk = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await next_chunk()) is not None:
        yield chunk


@router.get("/workspaces/{workspace_id}/export", summary="Export everything stored for a workspace (JSON)")
def workspace_export(request, workspace_id: int):
    workspace = _workspace_for(request.user, workspace_id, roles=EXPORT_ROLES)
    response = StreamingHttpResponse(
        _in_db_thread(selectors.workspace_export_chunks(workspace=workspace)), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="optera-workspace-{workspace.pk}.json"'
    return response


@router.delete("/workspaces/{workspace_id}", summary="Delete a workspace and everything stored for it")
def workspace_delete(request, workspace_id: int):
    workspace = _workspace_for(request.user, workspace_id, roles=DELETE_ROLES)
    services.workspace_delete(workspace=workspace)
    return HttpResponse(status=204)
