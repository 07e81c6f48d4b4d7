"""deploy/nginx/optera.conf made runnable on this machine: free ports, a self-signed certificate and a
main configuration whose logs and temporary files live in one folder. Used by tests/deploy and bench/.
"""

import contextlib
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy/nginx/optera.conf"
# Debian's package puts it in /usr/sbin, which a non-root PATH may not list.
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def site_for(upstream_ports, http_port, https_port, certificate, key):
    """The site file with only its ports and certificate replaced; each replacement must happen exactly once."""
    site = SITE.read_text()
    replacements = [
        (
            r"    server 127\.0\.0\.1:8001;\n    server 127\.0\.0\.1:8002;\n",
            "".join(f"    server 127.0.0.1:{port};\n" for port in upstream_ports),
        ),
        (r"    listen 80;\n    listen \[::\]:80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        (
            r"    listen 443 ssl http2;\n    listen \[::\]:443 ssl http2;\n",
            f"    listen 127.0.0.1:{https_port} ssl http2;\n",
        ),
        (r"ssl_certificate     \S+;", f"ssl_certificate     {certificate};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
    ]
    for pattern, replacement in replacements:
        site, count = re.subn(pattern, replacement, site)
        assert count == 1, f"deploy/nginx/optera.conf no longer has {pattern!r} once"
    return site


def self_signed_certificate(directory):
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


def main_configuration(directory, site_path):
    temporary = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temporary.values():
        path.mkdir()
    # As root, nginx's workers would run as nobody, who cannot read this test's temporary folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr';
    access_log {directory}/access.log upstreams;
    client_body_temp_path {temporary["body"]};
    proxy_temp_path {temporary["proxy"]};
    fastcgi_temp_path {temporary["fastcgi"]};
    uwsgi_temp_path {temporary["uwsgi"]};
    scgi_temp_path {temporary["scgi"]};
    include {site_path};
}}
"""


@dataclass(frozen=True)
class RunningSite:
    https: str
    http: str
    certificate: Path
    access_log: Path
    pid: int


@contextlib.contextmanager
def running_site(directory, upstream_ports):
    """Run the site in nginx, in front of `upstream_ports`, until the block ends."""
    certificate, key = self_signed_certificate(directory)
    http_port, https_port = free_port(), free_port()
    site_path = directory / "optera.conf"
    site_path.write_text(site_for(upstream_ports, http_port, https_port, certificate, key))
    configuration = directory / "nginx.conf"
    configuration.write_text(main_configuration(directory, site_path))
    tested = subprocess.run([NGINX, "-t", "-c", str(configuration)], capture_output=True, text=True)
    if tested.returncode != 0:
        raise RuntimeError(f"nginx refuses the site: {tested.stderr}")
    nginx = subprocess.Popen([NGINX, "-c", str(configuration), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _listening(https_port), timeout=10)
        yield RunningSite(
            https=f"https://127.0.0.1:{https_port}",
            http=f"http://127.0.0.1:{http_port}",
            certificate=certificate,
            access_log=directory / "access.log",
            pid=nginx.pid,
        )
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def _listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
