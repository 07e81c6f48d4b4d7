"""Run one client scenario in its own process (Node, or the clients' virtualenv) and read what it saw."""

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import PROVIDER_KEY_CANARY

CLIENTS = Path(__file__).parent
ROOT = CLIENTS.parent.parent
NODE = ("node", "node_clients.mjs")
PYTHON = (str(ROOT / "var" / "clients" / "bin" / "python"), "python_clients.py")


def run_client(program, scenario, optera_server, tenants, *, question=None, timeout=120):
    """Return the JSON the scenario printed; fail with its stderr if it exited non-zero."""
    installed = CLIENTS / "node_modules" if program is NODE else Path(program[0])
    assert installed.exists(), "run `make test-tools`: it installs the clients"
    environment = {
        **os.environ,
        "OPTERA_BASE_URL": optera_server.v1,
        "OPTERA_API_KEY": tenants.owner.api_key,
        "OPTERA_PROVIDER_KEY": PROVIDER_KEY_CANARY,
    }
    if question is not None:
        environment["OPTERA_QUESTION"] = question
    finished = subprocess.run(
        [*program, scenario], cwd=CLIENTS, env=environment, capture_output=True, text=True, timeout=timeout
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    return json.loads(finished.stdout.strip().splitlines()[-1])
