"""The dashboard's forms: every input is validated here or by the same functions the API uses."""

import json

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.urls import reverse

from accounts import services, workspace_options
from accounts.models import AnthropicCacheTtl, CacheMode, Membership, ServiceTier


class SignUpForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_again = forms.CharField(
        strip=False, label="Password, again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    adult = forms.BooleanField(
        label="I am 18 or older", help_text="Optera is not meant for anyone under 18 (see the privacy policy)."
    )

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists already. Sign in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        password, again = cleaned.get("password"), cleaned.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords differ.")
        elif password:
            user = get_user_model()(username=cleaned.get("email", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Where the key is used, e.g. “production”.")
    tier = forms.ChoiceField(
        choices=[("", "Workspace default"), *ServiceTier.choices],
        required=False,
        help_text="Flex: OpenAI's half-price tier for work that can wait.",
    )
    rate_limit_per_minute = forms.IntegerField(
        label="Rate limit",
        min_value=1,
        max_value=1_000_000,
        required=False,
        help_text="Requests per minute for this key alone; empty: only the workspace's limit.",
    )


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ConfirmNameForm(forms.Form):
    """Deleting a workspace: type its name, so nobody deletes the wrong one by a slip."""

    name = forms.CharField(max_length=100, label="Type the workspace's name to confirm")

    def __init__(self, *args, expected, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_name(self):
        if self.cleaned_data["name"] != self.expected:
            raise forms.ValidationError("That is not this workspace's name.")
        return self.cleaned_data["name"]


class CloseAccountForm(forms.Form):
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That password is not right.")
        return self.cleaned_data["password"]


class WorkspaceSettingsForm(forms.Form):
    """Every workspace option, checked by the same `validate_changes` as the API and the commands.

    Options the operator owns (the rate limit, the use of the operator's provider keys) are shown
    read-only: the management API refuses them too.
    """

    OPERATOR_OWNED = frozenset({"operator_keys", "rate_limit_per_minute", "max_active_keys"})

    def __init__(self, *args, current, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current
        for option in workspace_options.OPTIONS:
            value = getattr(current, option.field)
            field = _field_for(option, value)
            field.disabled = option.name in self.OPERATOR_OWNED
            self.fields[option.name] = field

    def clean(self):
        cleaned = super().clean()
        self._changes = {}
        for option in workspace_options.OPTIONS:
            if option.name in self.OPERATOR_OWNED or option.name not in cleaned:
                continue
            try:
                value = option.kind.from_text(_as_text(cleaned[option.name]))
                self._changes.update(
                    workspace_options.validate_changes({option.name: value}, workspace=self.current.workspace)
                )
            except workspace_options.InvalidOption as error:
                # The option's name is already the field's label; the message says what is wrong.
                self.add_error(option.name, str(error).removeprefix(f"{option.name}: "))
        return cleaned

    def changes(self):
        """Return {model field: value} of the validated options (call after is_valid())."""
        return self._changes


# Labels where the option's name would read badly as words.
LABELS = {
    "cache_ttl": "Cache TTL (seconds)",
    "semantic_threshold": "Semantic similarity threshold",
    "verify_sample_rate": "Verify sample rate (share of semantic hits)",
    "verify_disagreement_bound": "Verify disagreement bound",
    "verify_min_samples": "Verify minimum samples",
    "operator_keys": "Operator's provider keys",
    "retention_days": "Request-log retention (days)",
    "tier": "Provider tier",
    "anthropic_cache_ttl": "Anthropic prompt-cache TTL",
}


def _field_for(option, value):
    label = LABELS.get(option.name, option.name.replace("_", " ").capitalize())
    kind = option.kind
    if kind is workspace_options.ON_OFF:
        return forms.BooleanField(label=label, required=False, initial=value, help_text=option.help)
    if kind is workspace_options.CACHE_MODE:
        choices = [(mode, mode) for mode in CacheMode.values]
        return forms.ChoiceField(label=label, choices=choices, initial=value, help_text=option.help)
    if kind is workspace_options.SERVICE_TIER:
        choices = [(tier, tier) for tier in ServiceTier.values]
        return forms.ChoiceField(label=label, choices=choices, initial=value, help_text=option.help)
    if kind is workspace_options.ANTHROPIC_CACHE_TTL:
        choices = [(ttl, ttl) for ttl in AnthropicCacheTtl.values]
        return forms.ChoiceField(label=label, choices=choices, initial=value, help_text=option.help)
    if kind is workspace_options.MODEL_MAP:
        return forms.CharField(
            label=label,
            required=False,
            initial=json.dumps(value or {}),
            help_text=option.help,
            widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        )
    if kind in (workspace_options.WHOLE_NUMBER, workspace_options.NUMBER):
        step = "1" if kind is workspace_options.WHOLE_NUMBER else "0.01"
        return forms.CharField(
            label=label, initial=value, help_text=option.help, widget=forms.NumberInput(attrs={"step": step})
        )
    return forms.CharField(label=label, initial=value, help_text=option.help, max_length=100)


def _as_text(value):
    """Write a form value the way the options' text readers take it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return "{}" if value in (None, "") else str(value)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's password-reset form, its email sent like every other: recorded, then by Celery through Resend."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        path = reverse("password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]})
        link = f"{context['protocol']}://{context['domain']}{path}"
        services.password_reset_send(user=context["user"], to=to_email, link=link)
