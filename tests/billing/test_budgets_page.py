"""The Budgets page: members read, owners and admins set and delete, bad input comes back as form errors."""

import pytest

from billing.models import Budget, Webhook


def test_an_admin_sets_a_budget_and_a_member_sees_it_read_only(client, people):
    client.force_login(people.admin)
    page = f"/w/{people.workspace.pk}/budgets/"
    answer = client.post(page, {"scope": "tag", "scope_value": "search", "usd": "12.5", "period": "week", "hard": "on"})
    assert answer.status_code == 302
    budget = Budget.objects.get(workspace=people.workspace)
    assert (budget.scope, budget.scope_value, budget.usd, budget.period, budget.hard) == (
        "tag",
        "search",
        12.5,
        "week",
        True,
    )

    client.force_login(people.member)
    shown = client.get(page)
    assert shown.status_code == 200 and "the tag search&#x27;s $12.50 weekly budget" in shown.content.decode()
    assert "Set a budget" not in shown.content.decode()
    assert client.post(page, {"scope": "workspace", "usd": "1", "period": "day"}).status_code == 403
    assert client.post(f"{page}{budget.pk}/delete/").status_code == 403

    client.force_login(people.owner)
    assert client.post(f"{page}{budget.pk}/delete/").status_code == 302 and not Budget.objects.exists()


@pytest.mark.parametrize(
    "form, error",
    [
        ({"scope": "user", "scope_value": "", "usd": "5", "period": "day"}, "Name the key, end user or tag"),
        ({"scope": "key", "scope_value": "424242", "usd": "5", "period": "day"}, "this workspace has no key 424242"),
        ({"scope": "workspace", "usd": "-3", "period": "day"}, "greater than or equal to 0"),
        ({"scope": "workspace", "usd": "5", "period": "fortnight"}, "Select a valid choice"),
    ],
)
def test_a_bad_budget_comes_back_as_a_form_error(client, people, form, error):
    client.force_login(people.owner)
    answer = client.post(f"/w/{people.workspace.pk}/budgets/", form)
    assert answer.status_code == 400 and error in answer.content.decode()
    assert not Budget.objects.exists()


def test_the_webhook_is_set_with_its_secret_shown_once_and_removed(client, people, settings):
    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = True
    client.force_login(people.owner)
    page = f"/w/{people.workspace.pk}/budgets/"
    followed = client.post(page, {"url": "http://127.0.0.1:9/hooks"}, follow=True)
    webhook = Webhook.objects.get(workspace=people.workspace)
    assert webhook.secret in followed.content.decode()
    assert webhook.secret not in client.get(page).content.decode()  # shown once
    settings.OPTERA_WEBHOOK_ALLOW_PRIVATE = False
    refused = client.post(page, {"url": "http://10.1.2.3/x"})
    assert refused.status_code == 400 and "not a public address" in refused.content.decode()
    assert client.post(f"{page}webhook/delete/").status_code == 302 and not Webhook.objects.exists()
