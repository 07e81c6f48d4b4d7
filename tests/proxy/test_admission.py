"""Admission: size limits, bad JSON, unknown keys, unknown models, rate limits — always OpenAI's error shape."""

import socket
import time

import httpx
import openai
import pytest

from accounts import services
from tests.conftest import PROVIDER_KEY_CANARY, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, body, *, key, headers=None, content_type="application/json"):
    all_headers = {
        "Authorization": f"Bearer {key}",
        "X-Provider-Key": PROVIDER_KEY_CANARY,
        "Content-Type": content_type,
    }
    all_headers.update(headers or {})
    return httpx.post(f"{server.v1}/chat/completions", content=body, headers=all_headers, timeout=10)


def assert_openai_error(response, status):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b"\xff\xfe",
        b'{"model": "gpt-4o"}',
        b'{"model": "gpt-4o", "messages": "hi"}',
        b'{"model": "gpt-4o", "messages": [1]}',
        b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}',
        b'{"model": ["gpt-4o"], "messages": [{"role": "user", "content": "x"}]}',
        b'{"model": {"a": 1}, "messages": [{"role": "user", "content": "x"}]}',
        b'{"model": "gpt-4o\\u0000", "messages": [{"role": "user", "content": "x"}]}',
        '{"model": "gpt-4o-€", "messages": [{"role": "user", "content": "x"}]}'.encode(),
        b'{"model": "' + b"g" * 300 + b'", "messages": [{"role": "user", "content": "x"}]}',
    ],
)
def test_malformed_bodies_are_400_in_openai_shape(optera_server, tenants, fake, body):
    response = post(optera_server, body, key=tenants.owner.api_key)
    assert_openai_error(response, 400)
    assert fake.requests == []


def test_unknown_model_is_400_naming_it(optera_server, tenants, fake):
    response = post(
        optera_server,
        b'{"model": "llama-99", "messages": [{"role": "user", "content": "x"}]}',
        key=tenants.owner.api_key,
    )
    error = assert_openai_error(response, 400)
    assert "llama-99" in error["message"] and error["param"] == "model"


@pytest.mark.parametrize("key", ["opt_0000000000000000_" + "A" * 43, "not-a-key", "opt_"])
def test_unknown_key_is_401(optera_server, tenants, fake, key):
    response = post(optera_server, b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}', key=key)
    assert_openai_error(response, 401)


def test_sdk_sees_authentication_error(optera_server, tenants, fake):
    client = openai.OpenAI(base_url=optera_server.v1, api_key="opt_0123456789abcdef_" + "x" * 43, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_missing_provider_key_is_401(optera_server, tenants, fake):
    response = httpx.post(
        f"{optera_server.v1}/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        headers={"Authorization": f"Bearer {tenants.owner.api_key}"},
    )
    assert "provider" in assert_openai_error(response, 401)["message"]


def test_revoked_key_is_refused_within_five_seconds(optera_server, tenants, fake):
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}'
    assert post(optera_server, body, key=tenants.member.api_key).status_code == 200
    services.api_key_revoke(api_key=tenants.member.key_row)
    revoked_at = time.monotonic()
    wait_for(lambda: post(optera_server, body, key=tenants.member.api_key).status_code == 401, timeout=6, interval=0.25)
    assert time.monotonic() - revoked_at <= 5.5


def test_body_over_the_limit_is_413_with_content_length(optera_server, tenants, settings):
    settings.OPTERA_MAX_BODY_BYTES = 4096
    response = post(optera_server, b"{" + b" " * 10_000 + b"}", key=tenants.owner.api_key)
    assert_openai_error(response, 413)


def test_body_over_the_limit_is_413_when_chunked_without_content_length(optera_server, tenants, settings):
    settings.OPTERA_MAX_BODY_BYTES = 4096

    def chunks():
        for _ in range(100):
            yield b" " * 1000

    response = httpx.post(
        f"{optera_server.v1}/chat/completions",
        content=chunks(),
        headers={"Authorization": f"Bearer {tenants.owner.api_key}"},
        timeout=10,
    )
    assert_openai_error(response, 413)


def raw_request(optera_server, head, body_pieces=()):
    """Send a request over a raw socket, piece by piece, and return the start of the answer."""
    host, port = optera_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        for piece in body_pieces:
            try:
                connection.sendall(piece)
            except OSError:  # the server answered and closed before the rest was sent: as it should
                break
        return connection.recv(4096)


def test_a_declared_length_past_the_limit_is_refused_before_the_body_arrives(optera_server, tenants, settings):
    settings.OPTERA_MAX_BODY_BYTES = 4096
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000\r\nAuthorization: Bearer " + tenants.owner.api_key.encode() + b"\r\n\r\n"
    )
    # Not one byte of the promised megabyte is sent: the answer must come from the header alone.
    assert raw_request(optera_server, head).startswith(b"HTTP/1.1 413")


def test_a_body_without_a_length_cannot_make_it_buffer_past_the_limit(optera_server, tenants, settings):
    settings.OPTERA_MAX_BODY_BYTES = 4096
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nAuthorization: Bearer " + tenants.owner.api_key.encode() + b"\r\n\r\n"
    )
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"  # 1 KiB a chunk, with no end announced
    assert raw_request(optera_server, head, [chunk] * 64).startswith(b"HTTP/1.1 413")


def test_rate_limit_is_429_with_retry_after(optera_server, tenants, fake):
    from accounts.models import WorkspaceSettings

    WorkspaceSettings.objects.filter(workspace=tenants.outsider.workspace).update(rate_limit_per_minute=2)
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}'
    statuses = [post(optera_server, body, key=tenants.outsider.api_key) for _ in range(3)]
    assert [response.status_code for response in statuses[:2]] == [200, 200]
    assert_openai_error(statuses[2], 429)
    assert int(statuses[2].headers["retry-after"]) >= 1


def test_unknown_path_is_404_in_openai_shape(optera_server, tenants):
    response = httpx.post(
        f"{optera_server.v1}/completions/legacy", json={}, headers={"Authorization": f"Bearer {tenants.owner.api_key}"}
    )
    assert_openai_error(response, 404)


def test_request_fields_cannot_choose_the_upstream_host(optera_server, tenants, fake):
    body = (
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "api_base": "http://evil.test",'
        b' "base_url": "http://evil.test", "extra_headers": {"Host": "evil.test"}}'
    )
    response = post(
        optera_server,
        body,
        key=tenants.owner.api_key,
        headers={
            "X-Forwarded-Host": "evil.test",
            "X-Api-Base": "http://evil.test",
            "X-Upstream": "http://evil.test",
            "X-OpenAI-Base-URL": "http://evil.test",
        },
    )
    assert response.status_code == 200
    assert fake.last_request.path == "/v1/chat/completions"


def test_huge_numbers_do_not_break_the_cache_key(optera_server, tenants, fake):
    body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "temperature": 1e300, "seed": 1e29}'
    response = post(optera_server, body, key=tenants.owner.api_key)
    assert response.status_code == 200, response.text


def test_an_optera_key_is_never_sent_upstream(optera_server, tenants, fake):
    response = httpx.post(
        f"{optera_server.url}/v1/messages",
        json={"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        headers={"X-Optera-Key": tenants.owner.api_key, "x-api-key": tenants.owner.api_key},
    )
    assert response.status_code == 401
    assert all(tenants.owner.api_key not in str(request.headers) for request in fake.requests)


def test_an_anthropic_key_is_never_sent_to_openai(optera_server, tenants, fake):
    response = post(
        optera_server,
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}',
        key=tenants.owner.api_key,
        headers={"X-Provider-Key": "sk-ant-api03-secret"},
    )
    assert response.status_code == 401
    assert fake.requests == []
