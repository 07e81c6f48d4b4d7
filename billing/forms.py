"""The budgets page's forms: a budget (scope, amount, period, hard or soft) and the alerts' webhook URL."""

from django import forms

from billing.models import Budget

SCOPE_CHOICES = (
    ("workspace", "the whole workspace"),
    ("key", "one API key (its id)"),
    ("user", "an end user (X-Optera-User)"),
    ("tag", "a tag (X-Optera-Tags)"),
)


class BudgetForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPE_CHOICES, label="Applies to")
    scope_value = forms.CharField(
        required=False,
        max_length=128,
        label="Which one",
        help_text="the key's id, the end user or the tag; empty for the workspace",
    )
    usd = forms.DecimalField(min_value=0, max_value=99_999_999, decimal_places=8, label="USD", help_text="per period")
    period = forms.ChoiceField(choices=Budget.Period.choices, label="Per")
    hard = forms.BooleanField(
        required=False, initial=True, label="Refuse requests past it", help_text="unchecked: alert only"
    )

    def clean(self):
        cleaned = super().clean()
        scope, value = cleaned.get("scope"), (cleaned.get("scope_value") or "").strip()
        if scope and scope != "workspace" and not value:
            self.add_error("scope_value", "Name the key, end user or tag this budget applies to.")
        cleaned["scope_text"] = scope if scope == "workspace" else f"{scope}:{value}"
        return cleaned


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=500, label="Webhook URL", assume_scheme="https")
