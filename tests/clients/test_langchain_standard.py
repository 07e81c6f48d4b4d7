"""LangChain's own standard suite (langchain-tests ChatModelIntegrationTests) for ChatOpenAI pointed at Optera.

It runs in the clients' virtualenv against the live test server and fake provider; its JUnit report
is read into a pass/skip/fail table. Every failure must be one explained in EXPLAINED_FAILURES, so
a new one fails this test; the table is printed for the closing note.
"""

import os
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from tests.clients.runner import CLIENTS, PYTHON
from tests.conftest import PROVIDER_KEY_CANARY

pytestmark = [pytest.mark.django_db(transaction=True)]
SUITE = CLIENTS / "langchain_standard"
# Test name -> why it fails through Optera (none so far).
EXPLAINED_FAILURES = {}


def outcomes(report):
    """Return {test name: "passed" | "skipped" | "failed"} from a JUnit XML report."""
    table = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            table[case.get("name")] = "failed"
        elif case.find("skipped") is not None:
            table[case.get("name")] = "skipped"
        else:
            table[case.get("name")] = "passed"
    return table


def test_the_standard_suite_passes_but_for_explained_failures(optera_server, tenants, fake, tmp_path):
    report = tmp_path / "standard.xml"
    environment = {
        **os.environ,
        "OPTERA_BASE_URL": optera_server.v1,
        "OPTERA_API_KEY": tenants.owner.api_key,
        "OPTERA_PROVIDER_KEY": PROVIDER_KEY_CANARY,
    }
    finished = subprocess.run(
        [PYTHON[0], "-m", "pytest", "-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE), "-q", "-rfE", "--tb=line"]
        + [f"--junitxml={report}", "-o", "junit_family=xunit1", str(SUITE / "standard_suite.py")],
        cwd=SUITE,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert report.exists(), finished.stdout[-3000:] + finished.stderr[-3000:]
    table = outcomes(report)
    counts = {
        outcome: sum(1 for value in table.values() if value == outcome) for outcome in ("passed", "skipped", "failed")
    }
    print("langchain-tests ChatModelIntegrationTests through Optera:", counts)
    for name, outcome in sorted(table.items()):
        print(f"  {outcome:8} {name}")
    failed = {name for name, outcome in table.items() if outcome == "failed"}
    assert failed <= set(EXPLAINED_FAILURES), finished.stdout[-6000:]
    # 43 of 50 pass at langchain-tests 1.1.9. The 7 skipped: image, PDF and audio inputs (the suite
    # downloads its sample files from the internet, which this machine has not), Anthropic-format
    # content blocks (ChatOpenAI does not send them), and a timing benchmark (pytest-benchmark off).
    assert counts["passed"] >= 43
