import hashlib
import io

import pytest
from django.core.management import call_command

from accounts import keys, selectors, services
from accounts.models import ApiKey


def test_key_format_and_parse():
    public_id, secret, full_key = keys.generate_key()
    assert full_key == f"opt_{public_id}_{secret}"
    assert len(secret) >= 43  # 32 random bytes, base64url
    parts = keys.parse_key(full_key)
    assert parts.public_id == public_id and parts.secret == secret
    for malformed in ["", "opt_", "sk-123", f"opt_{public_id}", f"opt_short_{secret}", None, 42, "opt_" + "x" * 300]:
        assert keys.parse_key(malformed) is None


@pytest.mark.django_db
def test_key_is_stored_salted_and_verified():
    workspace = services.workspace_create(name="w")
    api_key, full_key = services.api_key_create(workspace=workspace)
    other_key, other_full_key = services.api_key_create(workspace=workspace)
    assert api_key.salt != other_key.salt
    assert api_key.preview == f"opt_…{full_key[-4:]}"
    record = selectors.key_record_find(public_id=api_key.public_id)
    assert selectors.key_record_verify(record=record, raw_key=full_key)
    assert not selectors.key_record_verify(record=record, raw_key=other_full_key)
    assert not selectors.key_record_verify(record=record, raw_key=full_key[:-1] + ("A" if full_key[-1] != "A" else "B"))


@pytest.mark.django_db
def test_revoked_key_is_not_found():
    workspace = services.workspace_create(name="w")
    api_key, _ = services.api_key_create(workspace=workspace)
    services.api_key_revoke(api_key=api_key)
    assert selectors.key_record_find(public_id=api_key.public_id) is None


@pytest.mark.django_db
def test_database_dump_holds_no_raw_key_nor_unsalted_hash(django_db_blocker):
    workspace = services.workspace_create(name="dump")
    full_keys = [services.api_key_create(workspace=workspace)[1] for _ in range(3)]
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = dump.getvalue()
    assert text.count('"model": "accounts.apikey"') == 3
    for full_key in full_keys:
        secret = keys.parse_key(full_key).secret
        forbidden = [full_key, secret]
        for value in (full_key, secret):
            for algorithm in ("md5", "sha1", "sha256", "sha512"):
                digest = hashlib.new(algorithm, value.encode())
                forbidden += [digest.hexdigest(), digest.hexdigest().upper()]
        for needle in forbidden:
            assert needle not in text
    # And the same through raw SQL, in case a serializer skipped a column.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT salt, secret_hash, preview, public_id FROM accounts_apikey")
        stored = " ".join(" ".join(row) for row in cursor.fetchall())
    for full_key in full_keys:
        assert keys.parse_key(full_key).secret not in stored
        assert hashlib.sha256(full_key.encode()).hexdigest() not in stored
    assert ApiKey.objects.count() == 3
