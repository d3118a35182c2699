"""Finding the API server and a credential as kubectl does (kubeconfig files written here)."""

from __future__ import annotations

import os
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml

from orchestrator.kube import credentials
from orchestrator.kube.credentials import CredentialsError, Source


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a client certificate, as a kubeconfig names them."""
    d = tmp_path_factory.mktemp("pki")
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*openssl, "-subj", "/CN=ca", "-keyout", d / "ca.key", "-out", d / "ca.crt"], check=True, capture_output=True
    )
    subprocess.run(
        [*openssl, "-subj", "/CN=me", "-keyout", d / "me.key", "-out", d / "me.crt"], check=True, capture_output=True
    )
    return d


def kubeconfig(
    path: Path, pki: Path, users: dict[str, dict], current: str | None = None, server: str = "https://api.example:6443"
) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}
                ],
                "users": [{"name": name, "user": user} for name, user in users.items()],
                "contexts": [{"name": name, "context": {"cluster": "c", "user": name}} for name in users],
                **({"current-context": current} if current else {}),
            }
        )
    )
    return path


def plugin(directory: Path, token: str, exit_code: int = 0) -> dict:
    script = directory / f"plugin-{token}.sh"
    script.write_text(f"""#!/bin/sh
echo run >> {directory}/runs-{token}
[ {exit_code} = 0 ] || {{ echo "login required" >&2; exit {exit_code}; }}
echo '{{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {{"token": "{token}"}}}}'
""")
    script.chmod(0o755)
    return {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script), "interactiveMode": "Never"}
    }


def test_token_user(tmp_path, pki):
    path = kubeconfig(tmp_path / "config", pki, {"me": {"token": "abc"}}, "me")
    info = credentials.login(Source(kubeconfig=str(path)))
    assert (info.server, info.scheme, info.token) == ("https://api.example:6443", "Bearer", "abc")
    assert info.ca_path == str(pki / "ca.crt")
    assert info.as_http_headers()["Authorization"] == "Bearer abc"


def test_client_certificate_user(tmp_path, pki):
    path = kubeconfig(
        tmp_path / "config",
        pki,
        {"me": {"client-certificate": str(pki / "me.crt"), "client-key": str(pki / "me.key")}},
        "me",
    )
    info = credentials.login(Source(kubeconfig=str(path)))
    assert info.token is None and info.certificate_path == str(pki / "me.crt")
    assert isinstance(info.as_ssl_context(), ssl.SSLContext)


def test_exec_plugin_runs_at_each_login(tmp_path, pki):
    path = kubeconfig(tmp_path / "config", pki, {"cloud": plugin(tmp_path, "t1")}, "cloud")
    assert credentials.login(Source(kubeconfig=str(path))).token == "t1"
    assert credentials.login(Source(kubeconfig=str(path))).token == "t1"
    # Each login fetches the credential anew: what a caller does after a 401.
    assert len((tmp_path / "runs-t1").read_text().splitlines()) == 2


def test_context_and_merged_kubeconfig_list(tmp_path, pki, monkeypatch):
    first = kubeconfig(tmp_path / "a", pki, {"a": {"token": "from-a"}}, "a")
    second = kubeconfig(tmp_path / "b", pki, {"b": plugin(tmp_path, "from-b")})
    monkeypatch.setenv("KUBECONFIG", f"{first}{os.pathsep}{second}")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert credentials.login().token == "from-a"  # the first file's current context
    assert credentials.login(Source(context="b")).token == "from-b"


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda d, pki: Source(kubeconfig=str(d / "missing")), "missing"),
        (
            lambda d, pki: Source(
                kubeconfig=str(kubeconfig(d / "c", pki, {"me": {"token": "x"}}, "me")), context="nope"
            ),
            "nope",
        ),
        (
            lambda d, pki: Source(kubeconfig=str(kubeconfig(d / "c", pki, {"me": plugin(d, "t", exit_code=1)}, "me"))),
            "kubeconfig",
        ),
    ],
)
def test_no_credentials_is_one_clear_line(tmp_path, pki, setup, says):
    with pytest.raises(CredentialsError) as err:
        credentials.login(setup(tmp_path, pki))
    message = str(err.value)
    assert "\n" not in message and says in message


def test_target_runs_no_credential(tmp_path, pki):
    path = kubeconfig(tmp_path / "config", pki, {"me": plugin(tmp_path, "never", exit_code=1)}, "me")
    target = credentials.target(Source(kubeconfig=str(path)))
    assert target.server == "https://api.example:6443" and isinstance(target.ssl_context, ssl.SSLContext)
    assert not (tmp_path / "runs-never").exists()


def test_target_without_verification(tmp_path, pki):
    path = kubeconfig(tmp_path / "config", pki, {"me": {"token": "x"}}, "me")
    config = yaml.safe_load(path.read_text())
    config["clusters"][0]["cluster"] = {"server": "https://10.0.0.1", "insecure-skip-tls-verify": True}
    path.write_text(yaml.safe_dump(config))
    assert credentials.target(Source(kubeconfig=str(path))) == credentials.Target("https://10.0.0.1", False)


def test_in_a_pod_the_service_account(tmp_path, pki, monkeypatch):
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token")
    (account / "ca.crt").write_text((pki / "ca.crt").read_text())
    monkeypatch.setattr(credentials, "SERVICE_ACCOUNT", account)
    monkeypatch.setattr(credentials, "ROOT_CA_MOUNT", tmp_path / "absent")
    monkeypatch.setattr("kubernetes.config.incluster_config.SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr("kubernetes.config.incluster_config.SERVICE_CERT_FILENAME", str(account / "ca.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    info = credentials.login()
    assert (info.server, info.token) == ("https://10.96.0.1:443", "pod-token")  # no cluster DNS needed
    assert credentials.target().server == "https://10.96.0.1:443"
