from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms import PasswordResetForm
from accounts.views import auth, public, workspace

urlpatterns = [
    path("", public.home, name="home"),
    path("privacy/", public.privacy_policy, name="privacy_policy"),
    path("accounts/signup/", auth.signup, name="signup"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/verify/<str:token>/", auth.verify_email, name="verify_email"),
    path("accounts/verify-again/", auth.resend_verification, name="resend_verification"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(form_class=PasswordResetForm),
        name="password_reset",
    ),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/welcome/", auth.onboarding, name="onboarding"),
    path("invitations/<str:token>/", workspace.invitation_accept, name="invitation_accept"),
    path("w/", workspace.workspace_switch, name="workspace_switch"),
    path("w/<int:workspace_id>/keys/", workspace.keys, name="keys"),
    path("w/<int:workspace_id>/keys/<int:key_id>/revoke/", workspace.key_revoke, name="key_revoke"),
    path("w/<int:workspace_id>/settings/", workspace.workspace_settings, name="workspace_settings"),
    path("w/<int:workspace_id>/members/", workspace.members, name="members"),
    path("w/<int:workspace_id>/members/<int:member_id>/role/", workspace.member_change_role, name="member_role"),
    path("w/<int:workspace_id>/members/<int:member_id>/remove/", workspace.member_remove, name="member_remove"),
    path(
        "w/<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        workspace.invitation_revoke,
        name="invitation_revoke",
    ),
    path("w/<int:workspace_id>/privacy/", workspace.workspace_privacy, name="workspace_privacy"),
]
