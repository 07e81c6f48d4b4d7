"""LiteLLM's proxy for the side-by-side benchmark: a throw-away virtualenv, a config, a process.

Pinned to an exact release (never 1.82.7 or 1.82.8, which were malicious) and never a dependency
of the project: it lives in var/bench-litellm-venv.
"""

import os
import subprocess
import sys
from pathlib import Path

from process_metrics import preexec_nofile

REPO = Path(__file__).resolve().parent.parent
LITELLM_VERSION = "1.108.7"
LITELLM_VENV = REPO / "var" / "bench-litellm-venv"
MASTER_KEY = "sk-bench-master"


def ensure_litellm():
    python = LITELLM_VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
        )
        if check.stdout.strip() == LITELLM_VERSION and (LITELLM_VENV / "bin" / "litellm").exists():
            return LITELLM_VENV / "bin" / "litellm"
    print(f"creating {LITELLM_VENV} with litellm[proxy]=={LITELLM_VERSION} ...", file=sys.stderr, flush=True)
    subprocess.run([find_python311(), "-m", "venv", str(LITELLM_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"], check=True, timeout=900
    )
    return LITELLM_VENV / "bin" / "litellm"


def find_python311():
    for candidate in ("python3.11", "python3"):
        found = subprocess.run(["which", candidate], capture_output=True, text=True).stdout.strip()
        if found:
            return found
    return sys.executable


def litellm_config(fake_url, *, cache):
    lines = [
        "model_list:",
        "  - model_name: gpt-4o-mini",
        "    litellm_params:",
        "      model: openai/gpt-4o-mini",
        f"      api_base: {fake_url}/v1",
        "      api_key: sk-bench",
        "litellm_settings:",
        "  telemetry: false",
        "  set_verbose: false",
        "  callbacks: []",
        "  success_callback: []",
        "  failure_callback: []",
        "  request_timeout: 600",
    ]
    if cache:
        lines += ["  cache: true", "  cache_params:", "    type: local"]
    else:
        lines += ["  cache: false"]
    lines += [
        "general_settings:",
        f"  master_key: {MASTER_KEY}",
        "  disable_spend_logs: true",
        "  disable_reset_budget: true",
    ]
    return "\n".join(lines) + "\n"


def start_litellm(litellm_bin, fake_url, port, workdir, *, cache=False):
    config = Path(workdir) / ("config-cache.yaml" if cache else "config.yaml")
    config.write_text(litellm_config(fake_url, cache=cache))
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "VIRTUAL_ENV")
    }
    environment.update(
        {
            "LITELLM_TELEMETRY": "False",
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "DISABLE_ADMIN_UI": "True",
            "NO_DOCS": "True",
            "PATH": f"{LITELLM_VENV / 'bin'}:{environment.get('PATH', '')}",
        }
    )
    log = open(Path(workdir) / f"litellm-{port}.log", "wb")
    process = subprocess.Popen(
        [str(litellm_bin), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        cwd=workdir,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec_nofile,
        start_new_session=True,
    )
    return process
