"""Sign-up, sign-in by email, email confirmation, onboarding, the product page and the policy."""

import re

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiKey, Membership, Profile

pytestmark = [pytest.mark.django_db]
PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def send_emails(django_capture_on_commit_callbacks, tasks_run_inline):
    """Run each request's on-commit work (enqueuing its emails' delivery) and those tasks as soon as it is answered."""

    def within(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return within


def with_subject(mailoutbox, subject):
    return [message for message in mailoutbox if message.subject == subject]


def sign_up(client, **overrides):
    form = {"email": "new@user.test", "password": PASSWORD, "password_again": PASSWORD, "adult": "on", **overrides}
    return client.post("/accounts/signup/", form)


def test_the_product_page_invites_anonymous_visitors_to_sign_up(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/accounts/signup/"' in page.content.decode() and 'href="/accounts/login/"' in page.content.decode()


def test_signing_up_makes_a_workspace_and_shows_its_first_key_once(client, mailoutbox, send_emails):
    response = send_emails(sign_up, client, email="New@User.test")

    user = get_user_model().objects.get(email="new@user.test")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner"
    assert response.status_code == 302 and response.url == f"/w/{membership.workspace_id}/"
    assert Profile.objects.get(user=user).adult_confirmed_at is not None
    overview = client.get(response.url).content.decode()
    key = re.search(r'<code id="new-key">(opt_[^<]+)</code>', overview).group(1)
    assert ApiKey.objects.get(workspace=membership.workspace).preview.endswith(key[-4:])
    assert f'api_key="{key}"' in overview  # the Python snippet comes filled in
    assert key not in client.get(response.url).content.decode()  # shown once
    assert sorted(message.subject for message in mailoutbox) == [
        "Confirm your email address for Optera",
        "Welcome to Optera: new's workspace is ready",
    ]
    assert [message.to for message in mailoutbox] == [["new@user.test"]] * 2


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"adult": ""}, "adult", "This field is required"),
        ({"password_again": "something else 12"}, "password_again", "The two passwords differ"),
        ({"password": "123", "password_again": "123"}, "password", "too short"),
        ({"email": "not an email"}, "email", "valid email"),
    ],
)
def test_a_bad_sign_up_is_a_form_error_and_creates_nothing(client, overrides, field, message):
    response = sign_up(client, **overrides)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not get_user_model().objects.exists()


def test_an_email_already_used_cannot_sign_up_again(client, people):
    response = sign_up(client, email="OWNER@acme.test")
    assert "exists already" in " ".join(response.context["form"].errors["email"])


def test_sign_in_takes_the_email_and_sign_out_is_a_post(client, people):
    response = client.post("/accounts/login/", {"username": "Owner@Acme.test", "password": "a long pass phrase 93"})
    assert response.status_code == 302
    assert client.get("/").url == f"/w/{people.workspace.pk}/"
    assert client.get("/accounts/logout/").status_code == 405
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_form_error(client, people):
    response = client.post("/accounts/login/", {"username": "owner@acme.test", "password": "wrong"})
    assert response.status_code == 200 and response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_the_confirmation_link_confirms_and_a_tampered_one_does_not(client, mailoutbox, send_emails):
    send_emails(sign_up, client)
    (confirmation,) = with_subject(mailoutbox, "Confirm your email address for Optera")
    link = re.search(r"http://testserver(/accounts/verify/[^/\s]+/)", confirmation.body).group(1)
    user = get_user_model().objects.get(email="new@user.test")

    tampered = client.get(link[:-3] + "xx/", follow=True)
    assert Profile.objects.get(user=user).email_verified_at is None
    assert "not valid" in tampered.content.decode()

    client.get(link)
    assert Profile.objects.get(user=user).email_verified_at is not None


def test_a_password_reset_email_carries_a_working_link(client, people, mailoutbox, send_emails):
    send_emails(client.post, "/accounts/password-reset/", {"email": "owner@acme.test"})
    (reset,) = mailoutbox
    assert reset.to == ["owner@acme.test"] and reset.subject == "Reset your Optera password"
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", reset.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "brand new phrase 42", "new_password2": "brand new phrase 42"},
    )
    assert client.login(username="owner@acme.test", password="brand new phrase 42")


def test_a_user_without_a_workspace_gets_one_with_a_key(client, db):
    user = get_user_model().objects.create_user(username="lonely@user.test", email="lonely@user.test", password="x")
    client.force_login(user)
    response = client.get("/", follow=True)
    membership = Membership.objects.get(user=user)
    assert response.redirect_chain[-1][0] == f"/w/{membership.workspace_id}/"
    assert 'id="new-key"' in response.content.decode()


def test_the_privacy_policy_is_filled_from_settings(client, settings):
    settings.OPTERA_COMPANY_NAME = "Example Proxies Ltd"
    settings.OPTERA_DELETION_WINDOW_DAYS = 14
    page = client.get("/privacy/").content.decode()
    assert "Example Proxies Ltd" in page and "within 14 days" in page and "retained for 30 days" in page
    assert "[" not in page.split("<article", 1)[1]  # no placeholder left unfilled


def test_an_unconfirmed_address_is_reminded_and_the_link_resent_only_to_this_site(client, mailoutbox, send_emails):
    send_emails(sign_up, client)
    overview = client.get("/", follow=True).content.decode()
    assert "Confirm your email address" in overview
    resent = send_emails(client.post, "/accounts/verify-again/", {"next": "https://evil.example/"})
    assert resent.url == "/" and len(with_subject(mailoutbox, "Confirm your email address for Optera")) == 2
