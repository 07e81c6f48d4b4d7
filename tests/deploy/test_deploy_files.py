"""The files under deploy/ are checked against the code they describe, so they cannot drift from it:
the environment template against the settings module, nginx's limits and timeouts against Optera's,
the systemd units by systemd itself, the Kubernetes manifests against Kubernetes' schemas (offline,
kubernetes-validate), and the Grafana dashboard's metric names against a real /metrics.
"""

import ast
import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_for
from tests.processes import deployment_check

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
ENV_TEMPLATE = DEPLOY / "optera.env.example"
# Read by prometheus_client itself (proxy/account/metrics.py), not by the settings module.
VARIABLES_OUTSIDE_SETTINGS = {"PROMETHEUS_MULTIPROC_DIR"}
# The oldest Kubernetes still supported by the big managed services, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def variables_read_by_settings():
    """Every environment variable optera/settings.py reads through optera.env's readers."""
    tree = ast.parse((REPO / "optera/settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def template_lines():
    """(name, value, active) for each `NAME=value` or `# NAME=value` line; NAME_FILE counts as NAME."""
    entries = []
    for line in ENV_TEMPLATE.read_text().splitlines():
        matched = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line)
        if matched:
            commented, name, value = matched.groups()
            entries.append((name, value, commented is None))
    return entries


def test_the_environment_template_lists_every_setting_once():
    names = [name.removesuffix("_FILE") for name, _value, _active in template_lines()]
    assert len(names) == len(set(names)), sorted(name for name in names if names.count(name) > 1)
    expected = variables_read_by_settings() | VARIABLES_OUTSIDE_SETTINGS
    assert set(names) == expected, {"missing": expected - set(names), "unknown": set(names) - expected}


def test_the_template_s_production_lines_pass_django_s_deployment_checks(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for name, value, active in template_lines():
        if not active:
            continue
        if name.endswith("_FILE"):
            # A real secret file in place of the template's path.
            secret = tmp_path / name.lower()
            secret.write_text(secrets.token_urlsafe(50))
            value = str(secret)
        environment[name] = value
    environment["OPTERA_VAR_DIR"] = str(tmp_path / "var")
    checked = deployment_check(environment, "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no issues" in checked.stdout


def nginx_directives(name):
    return re.findall(rf"^\s*{name}\s+([^;]+);", (DEPLOY / "nginx/optera.conf").read_text(), flags=re.MULTILINE)


def size_in_bytes(size):
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def seconds(duration):
    return int(duration.removesuffix("s"))


def test_nginx_limits_and_timeouts_match_optera_s():
    assert [size_in_bytes(size) for size in nginx_directives("client_max_body_size")] == [
        settings.OPTERA_MAX_BODY_BYTES
    ]
    # nginx's own 413 says what Optera's says, in both shapes.
    refusals = re.findall(r"'(\{.*\})';", (DEPLOY / "nginx/optera.conf").read_text())
    assert len(refusals) == 2
    for refusal in refusals:
        assert f"request body exceeds {settings.OPTERA_MAX_BODY_BYTES} bytes" in json.loads(refusal)["error"]["message"]
    read_timeouts = [seconds(value) for value in nginx_directives("proxy_read_timeout")]
    # The server-wide one covers /v1: longer than the first-byte wait, so Optera's 504 comes first.
    assert read_timeouts[0] > settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT
    assert min(read_timeouts) > settings.OPTERA_UPSTREAM_IDLE_TIMEOUT
    assert min(read_timeouts) > settings.OPTERA_FEED_REFRESH_SECONDS
    # The Kubernetes ingress makes the same choices.
    ingress = yaml.safe_load((DEPLOY / "kubernetes/ingress.yaml").read_text())["metadata"]["annotations"]
    assert size_in_bytes(ingress["nginx.ingress.kubernetes.io/proxy-body-size"]) == settings.OPTERA_MAX_BODY_BYTES
    assert int(ingress["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > settings.OPTERA_UPSTREAM_FIRST_BYTE_TIMEOUT
    assert ingress["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is part of Debian's systemd")
def test_systemd_verifies_the_units(tmp_path):
    environment_file = tmp_path / "optera.env"
    environment_file.write_text(ENV_TEMPLATE.read_text())
    for unit in (DEPLOY / "systemd").iterdir():
        # The units as installed on a host where the repository lives at /srv/optera: here, this checkout.
        text = (
            unit.read_text().replace("/srv/optera", str(REPO)).replace("/etc/optera/optera.env", str(environment_file))
        )
        (tmp_path / unit.name).write_text(text)
    units = [
        "optera.target",
        "optera-migrate.service",
        "optera-web@8001.service",
        "optera-worker.service",
        "optera-beat.service",
    ]
    verified = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in units)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    # systemd only warns (exit 0) about unknown keys and missing programs: any output is a fault.
    assert verified.returncode == 0 and verified.stdout + verified.stderr == ""


def kubernetes_documents():
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            yield path.name, document


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_kubernetes_manifests_validate_strictly(version):
    kinds = []
    for name, document in kubernetes_documents():
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except jsonschema.ValidationError as error:
            where = f"{name}: {document['kind']} {document['metadata']['name']}"
            pytest.fail(f"{where}: {error.message} at {list(error.absolute_path)}")
        kinds.append((document["kind"], document["metadata"]["name"]))
    assert set(kinds) >= {
        ("Namespace", "optera"),
        ("Job", "optera-migrate"),
        ("Deployment", "optera-web"),
        ("Service", "optera-web"),
        ("HorizontalPodAutoscaler", "optera-web"),
        ("Deployment", "optera-worker"),
        ("Deployment", "optera-beat"),
        ("Ingress", "optera"),
    }


def test_the_kubernetes_manifests_say_what_the_design_needs():
    documents = {
        (document["kind"], document["metadata"]["name"]): document for _name, document in kubernetes_documents()
    }
    web = documents[("Deployment", "optera-web")]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["command"][:2] == ["uvicorn", "optera.asgi:application"]
    hpa = documents[("HorizontalPodAutoscaler", "optera-web")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "optera-web"
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    beat = documents[("Deployment", "optera-beat")]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    assert beat["template"]["spec"]["containers"][0]["command"][-2] == "beat"
    migrate = documents[("Job", "optera-migrate")]["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    # One image and one environment for every process of a release.
    pod_specs = [
        document["spec"]["template"]["spec"]
        for document in documents.values()
        if document["kind"] in ("Deployment", "Job")
    ]
    containers = [container for spec in pod_specs for container in spec["containers"]]
    assert len({container["image"] for container in containers}) == 1
    assert {container["envFrom"][0]["secretRef"]["name"] for container in containers} == {"optera-env"}


def dashboard():
    return json.loads((DEPLOY / "grafana/optera-dashboard.json").read_text())


def test_the_grafana_dashboard_is_well_formed():
    board = dashboard()
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    titles = " ".join(panel["title"].lower() for panel in panels)
    for subject in ("requests", "overhead", "cache", "cost", "saved", "error", "event-loop lag", "embedder queue"):
        assert subject in titles
    for panel in panels:
        if panel["type"] != "row":
            assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"


@pytest.mark.django_db(transaction=True)
def test_every_metric_the_dashboard_plots_is_in_metrics(optera_server, openai_client):
    question = [{"role": "user", "content": f"dashboard canary {secrets.token_hex(6)}"}]
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=question)
    # Ask again until it is an exact hit, so that the savings counter has a sample.
    wait_for(
        lambda: (
            openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=question).headers[
                "x-optera-cache"
            ]
            == "hit"
        )
    )
    plotted = {
        name
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\b(optera_[a-z0-9_]+)", target["expr"])
    }
    plotted |= {
        name
        for variable in dashboard()["templating"]["list"]
        for name in re.findall(r"\b(optera_[a-z0-9_]+)", variable["query"])
    }

    def exposed():
        text = httpx.get(f"{optera_server.url}/metrics").text
        return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}

    wait_for(lambda: "optera_saved_usd_total" in exposed())
    assert plotted - exposed() == set()
    assert len(plotted) >= 6
