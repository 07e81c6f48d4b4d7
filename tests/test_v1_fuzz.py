"""schemathesis against /v1, from the OpenAPI description written for it (docs/v1-openapi.yaml).

Requests carry the owner's Optera key and a provider key and reach the fake provider; whatever is
generated, valid or not, Optera answers in the API's own error shape and never with a 5xx the
provider did not send (the fake sends none unless told to).
"""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from tests.conftest import PROVIDER_KEY_CANARY

pytestmark = [pytest.mark.django_db(transaction=True)]
EXAMPLES_PER_OPERATION = 40
schema = schemathesis.openapi.from_path(Path(__file__).resolve().parent.parent / "docs" / "v1-openapi.yaml")


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_no_v1_answer_is_a_server_error(case, optera_server, tenants, fake):
    headers = {"Authorization": f"Bearer {tenants.owner.api_key}"}
    if (case.headers or {}).get("X-Provider-Key") is None:
        headers["X-Provider-Key"] = PROVIDER_KEY_CANARY
    case.call_and_validate(base_url=optera_server.url, headers=headers, checks=[not_a_server_error], timeout=30)
