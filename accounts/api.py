"""Workspace endpoints of the management API: workspaces, keys, settings, export and deletion.

Signed-in users only (Django session). Roles and what a stranger sees: accounts.permissions.
"""

from asgiref.sync import sync_to_async
from django.contrib.auth import logout
from django.http import HttpResponse, StreamingHttpResponse
from ninja import Router, Status
from ninja.errors import HttpError
from ninja.security import django_auth

from accounts import selectors, services
from accounts.permissions import ANY_MEMBER, MANAGERS, OWNERS, workspace_for
from accounts.schemas import (
    AccountCloseIn,
    ApiKeyChangeIn,
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    SettingsChangeIn,
    SettingsOut,
    WorkspaceExportOut,
    WorkspaceOut,
)
from accounts.workspace_options import InvalidOption, describe, validate_changes

router = Router(auth=django_auth, tags=["workspaces"])


@router.get("/workspaces", response=list[WorkspaceOut], summary="The workspaces you belong to")
def workspace_list(request):
    return [
        WorkspaceOut(
            id=membership.workspace.pk,
            name=membership.workspace.name,
            role=membership.role,
            created_at=membership.workspace.created_at,
        )
        for membership in selectors.memberships_of(user=request.user)
    ]


@router.get("/workspaces/{workspace_id}/keys", response=list[ApiKeyOut], summary="The workspace's API keys")
def api_key_list(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=ANY_MEMBER)
    return list(selectors.api_keys_of(workspace=workspace))


@router.post("/workspaces/{workspace_id}/keys", response={201: ApiKeyCreatedOut}, summary="Create an API key")
def api_key_create(request, workspace_id: int, payload: ApiKeyCreateIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    try:
        api_key, full_key = services.api_key_create(
            workspace=workspace,
            name=payload.name,
            created_by=request.user,
            tier=payload.tier or "",
            rate_limit_per_minute=payload.rate_limit_per_minute,
        )
    except services.KeyLimitReached as refusal:
        raise HttpError(409, str(refusal)) from None
    return Status(201, ApiKeyCreatedOut(**ApiKeyOut.from_orm(api_key).model_dump(), api_key=full_key))


@router.patch("/workspaces/{workspace_id}/keys/{key_id}", response=ApiKeyOut, summary="Rename a key or set its tier")
def api_key_change(request, workspace_id: int, key_id: int, payload: ApiKeyChangeIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    api_key = selectors.api_key_of(workspace=workspace, key_id=key_id)
    if api_key is None:
        raise HttpError(404, "key not found")
    changes = payload.model_dump(exclude_unset=True)
    if "tier" in changes:
        changes["tier"] = changes["tier"] or ""
    return services.api_key_change(api_key=api_key, **changes)


@router.delete("/workspaces/{workspace_id}/keys/{key_id}", response=ApiKeyOut, summary="Revoke an API key")
def api_key_revoke(request, workspace_id: int, key_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    api_key = selectors.api_key_of(workspace=workspace, key_id=key_id)
    if api_key is None:
        raise HttpError(404, "key not found")
    return services.api_key_revoke(api_key=api_key)


@router.get("/workspaces/{workspace_id}/settings", response=SettingsOut, summary="The workspace's options")
def settings_read(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=ANY_MEMBER)
    return describe(selectors.workspace_settings_of(workspace=workspace))


@router.patch(
    "/workspaces/{workspace_id}/settings", response=SettingsOut, summary="Change some of the workspace's options"
)
def settings_change(request, workspace_id: int, payload: SettingsChangeIn):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    try:
        changes = validate_changes(payload.model_dump(exclude_none=True), workspace=workspace)
    except InvalidOption as error:
        raise HttpError(400, str(error)) from None
    return describe(services.workspace_settings_update(workspace=workspace, changes=changes))


async def _streamed_from_db_thread(chunks):
    """Serve a generator that reads the database as an async stream (one DB thread throughout)."""
    next_chunk = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await next_chunk()) is not None:
        yield chunk


@router.get(
    "/workspaces/{workspace_id}/export",
    response=WorkspaceExportOut,
    summary="Export everything stored for a workspace (JSON)",
    # Streamed as it is read: the schema describes the document, nothing validates it on the way out.
    description="A download, streamed as it is read from the database.",
)
def workspace_export(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=MANAGERS)
    response = StreamingHttpResponse(
        _streamed_from_db_thread(selectors.workspace_export_chunks(workspace=workspace)),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="optera-workspace-{workspace.pk}.json"'
    return response


@router.delete(
    "/workspaces/{workspace_id}", response={204: None}, summary="Delete a workspace and everything stored for it"
)
def workspace_delete(request, workspace_id: int):
    workspace = workspace_for(request.user, workspace_id, roles=OWNERS)
    services.workspace_delete(workspace=workspace)
    return HttpResponse(status=204)


@router.post(
    "/account/close",
    response={204: None},
    summary="Close your account: you leave every workspace; those you alone own are deleted",
    description="The account is deleted at once and signed out; workspaces you alone own are deleted as by "
    "DELETE /workspaces/{id}, their data gone within the deletion window (OPTERA_DELETION_WINDOW_DAYS).",
)
def account_close(request, payload: AccountCloseIn):
    if not request.user.check_password(payload.password):
        raise HttpError(403, "That password is not right.")
    services.account_close(user=request.user)
    logout(request)
    return HttpResponse(status=204)
