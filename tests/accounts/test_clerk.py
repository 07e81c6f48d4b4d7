"""Clerk sign-in: session tokens checked against a local JWKS server, and Svix-signed webhooks.

Nothing here reaches the network: the RSA keys are made here, a real HTTP server on 127.0.0.1
serves their JWKS (and counts the fetches), PyJWT signs the tokens and svix signs the webhooks.
`GET /api/workspaces` stands for every signed-in page: 401 while anonymous, 200 when signed in.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client, override_settings
from jwt.algorithms import RSAAlgorithm
from svix.webhooks import Webhook
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from accounts import services
from accounts.clerk.tokens import ClerkTokenVerifier, InvalidClerkToken, clerk_config, clerk_verifier
from accounts.models import ClerkIdentity, Workspace
from tests.conftest import free_port

ISSUER = "https://clerk.optera.test"
ORIGIN = "https://app.optera.test"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
SIGNED_IN_PAGE = "/api/workspaces"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid):
        return cls(kid=kid, private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self):
        return {**RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True), "kid": self.kid, "alg": "RS256"}

    def token(self, claims, *, kid=None):
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid})


class JwksServer:
    """Serves a JWKS over HTTP on 127.0.0.1, as a Clerk instance does, and counts the fetches."""

    def __init__(self):
        self.keys = []
        self.fetches = 0
        jwks_server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                jwks_server.fetches += 1
                body = json.dumps({"keys": jwks_server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="jwks-server", daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def jwks_server():
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clerk_key():
    return SigningKey.generate("ins_key_1")


@pytest.fixture(scope="module")
def other_key():
    """A key the Clerk instance never published."""
    return SigningKey.generate("ins_key_2")


def clerk_settings(jwks_url):
    return {
        "CLERK_JWKS_URL": jwks_url,
        "CLERK_ISSUER": ISSUER,
        "CLERK_AUTHORIZED_PARTIES": [ORIGIN],
        "CLERK_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CLERK_LEEWAY_SECONDS": 5,
    }


def clerk_config_for(jwks_url):
    with override_settings(**clerk_settings(jwks_url)):
        return clerk_config()


@pytest.fixture
def clerk(db, jwks_server, clerk_key):
    """Clerk sign-in on, its JWKS publishing `clerk_key`, with a cold key cache."""
    jwks_server.keys = [clerk_key.jwk()]
    jwks_server.fetches = 0
    clerk_verifier.cache_clear()
    with override_settings(**clerk_settings(jwks_server.url)):
        yield jwks_server
    clerk_verifier.cache_clear()


def session_claims(sub="user_2alice", **changes):
    """The claims of a Clerk session token made a moment ago for ORIGIN; a None change drops that claim."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": sub, "sid": "sess_1", "azp": ORIGIN, "iat": now, "nbf": now - 5, "exp": now + 60}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def get_signed_in_page(client, token, *, via="header"):
    if via == "cookie":
        client.cookies["__session"] = token
        return client.get(SIGNED_IN_PAGE)
    return client.get(SIGNED_IN_PAGE, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_refused(client, token):
    response = get_signed_in_page(client, token)
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not ClerkIdentity.objects.exists()


def unsigned_token(header, claims, *, secret=b""):
    """A token whose header says whatever it likes, HMAC-signed with `secret` (empty for alg none)."""

    def encode(part):
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    signing_input = f"{encode(header)}.{encode(claims)}"
    signature = b""
    if secret:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


# Signing in with a session token.


def test_anonymous_requests_are_refused(clerk, client):
    assert client.get(SIGNED_IN_PAGE).status_code == 401


def test_a_valid_token_signs_in_the_user_who_has_its_email(clerk, clerk_key, client):
    services.workspace_create(name="acme", owner_email="alice@acme.test")

    response = get_signed_in_page(client, clerk_key.token(session_claims(email="alice@acme.test")))

    assert response.status_code == 200
    assert [(row["name"], row["role"]) for row in response.json()] == [("acme", "owner")]
    identity = ClerkIdentity.objects.get(clerk_user_id="user_2alice")
    assert identity.user.username == "alice@acme.test"
    assert get_user_model().objects.count() == 1


def test_the_session_cookie_signs_in_and_a_new_clerk_user_gets_one_django_user(clerk, clerk_key, client):
    token = clerk_key.token(session_claims(sub="user_2new"))

    first = get_signed_in_page(client, token, via="cookie")
    second = get_signed_in_page(client, token, via="cookie")

    assert first.status_code == second.status_code == 200
    assert first.json() == []
    user = ClerkIdentity.objects.get(clerk_user_id="user_2new").user
    assert (user.username, user.email, user.has_usable_password()) == ("user_2new", "", False)
    assert get_user_model().objects.count() == 1
    # Nothing went into Django's session: the next request without the token is anonymous.
    del client.cookies["__session"]
    assert client.get(SIGNED_IN_PAGE).status_code == 401


def test_the_keys_are_fetched_once_and_then_served_from_memory(clerk, clerk_key, client):
    for _ in range(3):
        assert get_signed_in_page(client, clerk_key.token(session_claims())).status_code == 200
    assert clerk.fetches == 1


def test_a_token_expired_within_the_leeway_still_signs_in(clerk, clerk_key, client):
    token = clerk_key.token(session_claims(exp=int(time.time()) - 2))
    assert get_signed_in_page(client, token).status_code == 200


def test_a_wrong_authorized_party_is_refused(clerk, clerk_key, client):
    assert_refused(client, clerk_key.token(session_claims(azp="https://evil.test")))


def test_a_token_without_an_authorized_party_is_refused(clerk, clerk_key, client):
    assert_refused(client, clerk_key.token(session_claims(azp=None)))


def test_an_expired_token_is_refused(clerk, clerk_key, client):
    now = int(time.time())
    assert_refused(client, clerk_key.token(session_claims(iat=now - 120, nbf=now - 120, exp=now - 30)))


def test_a_token_not_yet_valid_is_refused(clerk, clerk_key, client):
    assert_refused(client, clerk_key.token(session_claims(nbf=int(time.time()) + 60)))


def test_a_token_signed_by_another_key_under_the_published_kid_is_refused(clerk, clerk_key, other_key, client):
    assert_refused(client, other_key.token(session_claims(), kid=clerk_key.kid))


def test_a_token_from_another_issuer_is_refused(clerk, clerk_key, client):
    assert_refused(client, clerk_key.token(session_claims(iss="https://clerk.elsewhere.test")))


def test_a_pending_session_is_refused(clerk, clerk_key, client):
    assert_refused(client, clerk_key.token(session_claims(sts="pending")))


def test_an_unknown_kid_is_refused_and_does_not_make_every_request_refetch(clerk, clerk_key, other_key, client):
    assert_refused(client, other_key.token(session_claims()))
    assert_refused(client, other_key.token(session_claims()))
    # One fetch to fill the cache; the refetch for an unknown kid waits out its cooldown.
    assert clerk.fetches == 1


def test_a_token_without_a_kid_is_refused(clerk, clerk_key, client):
    token = jwt.encode(session_claims(), clerk_key.private_key, algorithm="RS256")
    assert_refused(client, token)
    assert clerk.fetches == 0


def test_a_token_that_is_not_rs256_is_refused(clerk, clerk_key, client):
    public_pem = clerk_key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    # The classic confusion: HMAC keyed with the public key, which anyone can read from the JWKS.
    assert_refused(client, unsigned_token({"alg": "HS256", "kid": clerk_key.kid}, session_claims(), secret=public_pem))
    assert_refused(client, unsigned_token({"alg": "none", "kid": clerk_key.kid}, session_claims()))


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "e30.e30.", "Zm9v." * 3])
def test_garbage_is_refused_without_an_error(clerk, client, token):
    assert_refused(client, token)


def test_an_unreachable_jwks_refuses_the_token_without_an_error(clerk, clerk_key, client):
    with override_settings(CLERK_JWKS_URL=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"):
        assert_refused(client, clerk_key.token(session_claims()))


def test_a_hanging_jwks_gives_up_after_the_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = clerk_config_for(f"http://127.0.0.1:{silent.getsockname()[1]}/.well-known/jwks.json")
        verifier = ClerkTokenVerifier(config, timeout_seconds=0.3)
        started = time.monotonic()
        with pytest.raises(InvalidClerkToken):
            verifier.verify(SigningKey.generate("ins_key_1").token(session_claims()))
        assert time.monotonic() - started < 2


def test_a_rotated_key_is_fetched_once_and_an_unknown_one_refused(clerk, clerk_key, other_key):
    verifier = ClerkTokenVerifier(clerk_config(), refetch_cooldown_seconds=0)
    verifier.verify(clerk_key.token(session_claims()))
    assert clerk.fetches == 1

    rotated = SigningKey.generate("ins_key_3")
    clerk.keys = [clerk_key.jwk(), rotated.jwk()]
    assert verifier.verify(rotated.token(session_claims()))["sub"] == "user_2alice"
    assert clerk.fetches == 2

    with pytest.raises(InvalidClerkToken):
        verifier.verify(other_key.token(session_claims()))
    assert clerk.fetches == 3


def test_a_deactivated_user_is_not_signed_in(clerk, clerk_key, client):
    assert get_signed_in_page(client, clerk_key.token(session_claims())).status_code == 200
    get_user_model().objects.update(is_active=False)

    assert get_signed_in_page(Client(), clerk_key.token(session_claims())).status_code == 401
    assert get_user_model().objects.count() == 1


def test_an_email_claim_never_takes_over_a_staff_account(clerk, clerk_key, client):
    staff = get_user_model().objects.create_user("ops", email="ops@optera.test", is_staff=True)

    assert get_signed_in_page(client, clerk_key.token(session_claims(email="ops@optera.test"))).status_code == 200

    assert ClerkIdentity.objects.get(clerk_user_id="user_2alice").user != staff


def test_a_bearer_token_needs_no_csrf_token_but_the_session_cookie_does(clerk, clerk_key):
    workspace = services.workspace_create(name="acme", owner_email="alice@acme.test")
    token = clerk_key.token(session_claims(email="alice@acme.test"))
    browser = Client(enforce_csrf_checks=True)
    url = f"/api/workspaces/{workspace.pk}/keys"

    by_header = browser.post(url, {"name": "ci"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    browser.cookies["__session"] = token
    by_cookie = browser.post(url, {"name": "ci"}, content_type="application/json")

    assert by_header.status_code == 201
    assert by_cookie.status_code == 403


def test_clerk_off_ignores_tokens_and_fetches_nothing(db, jwks_server, clerk_key, client, settings):
    assert not settings.CLERK_JWKS_URL
    jwks_server.keys = [clerk_key.jwk()]
    jwks_server.fetches = 0

    assert get_signed_in_page(client, clerk_key.token(session_claims())).status_code == 401
    assert get_signed_in_page(client, clerk_key.token(session_claims()), via="cookie").status_code == 401
    assert jwks_server.fetches == 0
    assert client.post("/clerk/webhook/", "{}", content_type="application/json").status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_asynchronous_request_is_signed_in_too(clerk, clerk_key):
    client = AsyncClient()
    valid = clerk_key.token(session_claims())
    wrong_party = clerk_key.token(session_claims(azp="https://evil.test"))

    signed_in = await client.get(SIGNED_IN_PAGE, headers={"Authorization": f"Bearer {valid}"})
    refused = await client.get(SIGNED_IN_PAGE, headers={"Authorization": f"Bearer {wrong_party}"})

    assert (signed_in.status_code, refused.status_code) == (200, 401)


@pytest.mark.django_db(transaction=True)
def test_the_live_feed_opens_for_a_clerk_session_cookie_only_when_valid(clerk, clerk_key, optera_server):
    workspace = services.workspace_create(name="acme", owner_email="alice@acme.test")
    address = optera_server.url.replace("http://", "ws://") + f"/ws/workspaces/{workspace.pk}/requests"

    def feed(token):
        headers = {"Cookie": f"__session={token}"}
        return connect(address, additional_headers=headers, origin=optera_server.url, open_timeout=5)

    with feed(clerk_key.token(session_claims(email="alice@acme.test"))) as connection:
        with pytest.raises(TimeoutError):  # open, waiting for requests
            connection.recv(timeout=1)
    with feed(clerk_key.token(session_claims(email="alice@acme.test", azp="https://evil.test"))) as connection:
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=5)
    assert closed.value.rcvd.code == 4401


# Clerk's webhooks.


def post_webhook(client, event, *, secret=WEBHOOK_SECRET, sent_at=None, signature=None):
    body = json.dumps(event)
    sent_at = sent_at or datetime.now(timezone.utc)
    message_id = "msg_" + secrets.token_hex(8)
    return client.post(
        "/clerk/webhook/",
        body,
        content_type="application/json",
        HTTP_SVIX_ID=message_id,
        HTTP_SVIX_TIMESTAMP=str(int(sent_at.timestamp())),
        HTTP_SVIX_SIGNATURE=signature or Webhook(secret).sign(message_id, sent_at, body),
    )


def user_event(event_type, clerk_user_id="user_2bob", *, email="bob@example.test", verified=True):
    data = {
        "id": clerk_user_id,
        "object": "user",
        "primary_email_address_id": "idn_1",
        "email_addresses": [
            {
                "id": "idn_1",
                "object": "email_address",
                "email_address": email,
                "verification": {"status": "verified" if verified else "unverified", "strategy": "email_code"},
            }
        ],
    }
    return {"type": event_type, "object": "event", "data": data}


def user_deleted_event(clerk_user_id="user_2bob"):
    return {"type": "user.deleted", "object": "event", "data": {"id": clerk_user_id, "object": "user", "deleted": True}}


def test_a_signed_user_created_event_creates_the_user(clerk, client):
    response = post_webhook(client, user_event("user.created"))

    assert response.status_code == 204
    user = ClerkIdentity.objects.get(clerk_user_id="user_2bob").user
    assert (user.email, user.is_active) == ("bob@example.test", True)


def test_a_forged_signature_is_refused_and_changes_nothing(clerk, client):
    forged_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()

    response = post_webhook(client, user_event("user.created"), secret=forged_secret)

    assert response.status_code == 400
    assert not get_user_model().objects.exists()


def test_a_malformed_signature_header_is_refused(clerk, client):
    response = post_webhook(client, user_event("user.created"), signature="v1-not-base64")

    assert response.status_code == 400
    assert not get_user_model().objects.exists()


def test_a_stale_event_is_refused_even_when_signed(clerk, client):
    sent_at = datetime.now(timezone.utc) - timedelta(minutes=10)

    response = post_webhook(client, user_event("user.created"), sent_at=sent_at)

    assert response.status_code == 400
    assert not get_user_model().objects.exists()


def test_user_updated_changes_the_email_of_the_linked_user(clerk, client):
    post_webhook(client, user_event("user.created"))

    response = post_webhook(client, user_event("user.updated", email="robert@example.test"))

    assert response.status_code == 204
    assert ClerkIdentity.objects.get(clerk_user_id="user_2bob").user.email == "robert@example.test"
    assert get_user_model().objects.count() == 1


def test_an_unverified_email_neither_links_nor_is_stored(clerk, client):
    existing = get_user_model().objects.create_user("carol", email="carol@example.test")

    post_webhook(client, user_event("user.created", "user_2carol", email="carol@example.test", verified=False))

    user = ClerkIdentity.objects.get(clerk_user_id="user_2carol").user
    assert user != existing and user.email == ""


def test_user_deleted_deactivates_the_user_and_keeps_its_data(clerk, clerk_key, client):
    workspace = services.workspace_create(name="acme", owner_email="bob@example.test")
    post_webhook(client, user_event("user.created"))

    response = post_webhook(client, user_deleted_event())

    assert response.status_code == 204
    user = ClerkIdentity.objects.get(clerk_user_id="user_2bob").user
    assert user.is_active is False
    assert Workspace.objects.filter(pk=workspace.pk, memberships__user=user).exists()
    assert get_signed_in_page(Client(), clerk_key.token(session_claims(sub="user_2bob"))).status_code == 401


def test_other_events_are_acknowledged_and_ignored(clerk, client):
    response = post_webhook(client, {"type": "session.created", "object": "event", "data": {"id": "sess_1"}})

    assert response.status_code == 204
    assert not get_user_model().objects.exists()


# Settings.


@pytest.mark.parametrize(
    "environment, complaint",
    [
        ({"CLERK_ISSUER": ISSUER}, "CLERK_JWKS_URL is not"),
        ({"CLERK_JWKS_URL": "https://clerk.optera.test/.well-known/jwks.json"}, "needs CLERK_ISSUER"),
        (
            {
                "CLERK_JWKS_URL": "https://clerk.optera.test/.well-known/jwks.json",
                "CLERK_ISSUER": ISSUER,
                "CLERK_AUTHORIZED_PARTIES": ORIGIN,
                "CLERK_WEBHOOK_SECRET": "not-a-signing-secret",
            },
            "starting with whsec_",
        ),
    ],
)
def test_a_partial_or_wrong_clerk_configuration_stops_the_process(environment, complaint):
    run = subprocess.run(
        [sys.executable, "-c", "import optera.settings"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and complaint in run.stderr


@pytest.mark.parametrize(
    "changes, signed_by_other_key",
    [({}, False), ({"azp": "https://evil.example"}, False), ({"exp": int(time.time()) - 3600}, False), ({}, True)],
    ids=["valid", "wrong azp", "expired", "bad signature"],
)
def test_only_a_valid_session_cookie_reaches_the_dashboard(
    clerk, clerk_key, other_key, client, changes, signed_by_other_key
):
    workspace = services.workspace_create(name="acme", owner_email="alice@acme.test")
    signer = other_key if signed_by_other_key else clerk_key
    client.cookies["__session"] = signer.token(session_claims(email="alice@acme.test", **changes), kid=clerk_key.kid)

    overview = client.get(f"/w/{workspace.pk}/")

    if changes or signed_by_other_key:
        assert overview.status_code == 302 and overview.url.startswith("/accounts/login/")
    else:
        assert overview.status_code == 200 and "acme" in overview.content.decode()
