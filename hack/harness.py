"""The dev harness: the test cluster through kubectl, the operator run as its ServiceAccount, the
exec credential it logs in with, and readers of the audit log and of stored output. Used by the
tests' fixtures (tests/conftest.py), the benchmark (bench/) and the demo (hack/demo.py), so it
imports no test framework: what fails raises HarnessFailure, an AssertionError, which a test
reports as its failure."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
LOCAL_KUBECONFIG = REPO / ".cluster" / "kubeconfig"
OPERATOR_HEALTH_PORT = 18080


def versions(name: str) -> str:
    """A setting of hack/versions.sh (where the builds are cached, the images' names)."""
    out = subprocess.run(
        ["bash", "-c", f"source {REPO}/hack/versions.sh && echo ${name}"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def bin_dir() -> Path:
    return Path(versions("BIN_DIR"))


def runner_image() -> str:
    return versions("RUNNER_IMAGE")


def helm_path() -> Path:
    """Helm, built from its Go module by hack/build.sh (make build)."""
    return Path(versions("TOOLS_DIR")) / "helm"


class HarnessFailure(AssertionError):
    """Something the harness waited for did not come, or a process it runs died."""


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "condition", interval: float = 0.2) -> Any:
    """Polls `check` until it returns something truthy, failing the test at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise HarnessFailure(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Cluster:
    """kubectl against the test cluster, as the admin unless told otherwise."""

    def __init__(self, kubeconfig: Path, kubectl: str, local: bool) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl_path = kubectl
        self.local = local

    def kubectl(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.kubectl_path, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=not isinstance(input, bytes),
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        ns = ["-n", namespace] if namespace else []
        result = self.kubectl("get", kind, name, *ns, "-o", "json", check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        return json.loads(result.stdout)

    def must_get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """An object that must be there."""
        found = self.get(kind, name, namespace)
        if found is None:
            raise HarnessFailure(f"{kind} {name} not found" + (f" in namespace {namespace}" if namespace else ""))
        return found

    def list(self, kind: str, namespace: str, selector: str = "") -> list[dict[str, Any]]:
        args = ["get", kind, "-n", namespace, "-o", "json"] + (["-l", selector] if selector else [])
        return json.loads(self.kubectl(*args).stdout)["items"]

    def apply(self, obj: dict[str, Any] | str, namespace: str | None = None) -> subprocess.CompletedProcess[str]:
        text = obj if isinstance(obj, str) else yaml.safe_dump(obj)
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("apply", *ns, "-f", "-", input=text)

    def install_operator_prerequisites(self) -> None:
        """The CRD, namespace and RBAC from the repository, applied as a user would."""
        self.kubectl("apply", "-k", str(REPO / "crds"))
        # The local cluster serves MutatingAdmissionPolicy as v1beta1 (hack/cluster.sh).
        for part in ("namespace.yaml", "rbac.yaml", "admission.yaml", "requested-by/v1beta1/requested-by.yaml"):
            self.kubectl("apply", "-f", str(REPO / "kubernetes" / part))
        self.kubectl("wait", "--for=condition=Established", "crd/adhoccommands.orchestrator.dev", "--timeout=60s")
        # Established is not yet usable (hack/wait-accepted.sh says why): wait until a create is.
        waited = subprocess.run(
            [str(REPO / "hack/wait-accepted.sh"), self.kubectl_path, str(self.kubeconfig), "60"],
            capture_output=True,
            text=True,
        )
        if waited.returncode != 0:
            raise HarnessFailure(waited.stderr.strip())


def cri_log(data: bytes) -> bytes:
    """`data` as CRI log lines (the kubelet's container log format), split at newlines."""
    out = bytearray()
    for line in data.splitlines(keepends=True):
        full = line.endswith(b"\n")
        out += b"2026-01-01T00:00:00.000000000Z stdout " + (b"F " if full else b"P ") + line.rstrip(b"\n") + b"\n"
    return bytes(out)


# Where an operator run by the harness serves /metrics (9090, the default, may be taken on a host).
METRICS_PORT = 19090
METRICS = {"ORCHESTRATOR_METRICS_PORT": str(METRICS_PORT), "ORCHESTRATOR_METRICS_ADDRESS": "127.0.0.1"}


class Operator:
    """The operator, run from this checkout as the ServiceAccount of kubernetes/rbac.yaml."""

    def __init__(
        self,
        cluster: Cluster,
        kubeconfig: Path,
        log: Path,
        env: dict[str, str],
        health_port: int = OPERATOR_HEALTH_PORT,
    ) -> None:
        self.cluster, self.kubeconfig, self.log_path, self.env = cluster, kubeconfig, log, env
        self.health_port = health_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestrator.operator",
                "--all-namespaces",
                f"--liveness=http://127.0.0.1:{self.health_port}/healthz",
            ],
            env={**os.environ, **METRICS, **self.env, "KUBECONFIG": str(self.kubeconfig)},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        wait_until(self.healthy, 60, "the operator's health endpoint")

    def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise HarnessFailure(f"the operator exited with {self.process.returncode}: see {self.log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """Kills the operator at once, as a node failure or OOM kill would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def service_account_kubeconfig(cluster: Cluster, path: Path) -> Path:
    """A kubeconfig holding a token of the operator's ServiceAccount (nothing more)."""
    token = cluster.kubectl("-n", "orchestrator", "create", "token", "orchestrator", "--duration=24h").stdout.strip()
    return kubeconfig_for(cluster, path, {"token": token})


def kubeconfig_for(cluster: Cluster, path: Path, user: dict[str, Any]) -> Path:
    """A kubeconfig for the test cluster's server, logging in as `user` (a kubeconfig user entry)."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    server = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [server],
                "users": [{"name": "orchestrator", "user": user}],
                "contexts": [{"name": "orchestrator", "context": {"cluster": server["name"], "user": "orchestrator"}}],
                "current-context": "orchestrator",
            }
        )
    )
    return path


PLUGIN = """#!/bin/sh
# An exec credential plugin, as cloud kubeconfigs log in (gke-gcloud-auth-plugin, aws eks
# get-token, kubelogin): prints an ExecCredential with the token in the file beside it.
dir=$(dirname "$0")
echo call >>"$dir/calls"
printf '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "%s"}}' \
  "$(cat "$dir/token")"
"""


class ExecCredential:
    """A kubeconfig whose user is an exec credential plugin handing out tokens of a ServiceAccount
    (the operator's unless told), each bound to a Secret of its own: deleting that Secret revokes
    the token."""

    def __init__(
        self, cluster: Cluster, directory: Path, namespace: str = "orchestrator", account: str = "orchestrator"
    ) -> None:
        self.cluster, self.directory, self.namespace, self.account = cluster, directory, namespace, account
        self.secrets: list[str] = []
        plugin = directory / "plugin.sh"
        plugin.write_text(PLUGIN)
        plugin.chmod(0o755)
        self.kubeconfig = kubeconfig_for(
            cluster,
            directory / "kubeconfig",
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": str(plugin),
                    "interactiveMode": "Never",
                }
            },
        )
        self.mint()

    @property
    def token(self) -> str:
        return (self.directory / "token").read_text()

    @property
    def calls(self) -> int:
        path = self.directory / "calls"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def mint(self) -> str:
        """A new token, which the plugin hands out from now on."""
        secret = f"{self.account}-credential-{uuid.uuid4().hex[:8]}"
        self.cluster.kubectl("-n", self.namespace, "create", "secret", "generic", secret)
        token = self.cluster.kubectl(
            "-n",
            self.namespace,
            "create",
            "token",
            self.account,
            "--duration=24h",
            "--bound-object-kind=Secret",
            f"--bound-object-name={secret}",
        ).stdout.strip()
        (self.directory / "token").write_text(token)
        self.secrets.append(secret)
        return token

    def accepted(self, token: str) -> bool:
        result = self.cluster.kubectl(
            "--token", token, "get", "--raw", "/apis", check=False, kubeconfig=self.kubeconfig_without_user()
        )
        return result.returncode == 0

    def kubeconfig_without_user(self) -> Path:
        return kubeconfig_for(self.cluster, self.directory / "anonymous.kubeconfig", {})

    def revoke(self, token: str, secret: str) -> None:
        """Revokes `token` (deletes the Secret it is bound to) and waits until the API server refuses it."""
        self.cluster.kubectl("-n", self.namespace, "delete", "secret", secret)
        wait_until(lambda: not self.accepted(token), 60, "the API server to refuse the revoked token")


# The API server's audit log (hack/audit-policy.yaml): what the operator asked of it.
AUDIT_LOG = Path(os.environ.get("ORCH_CLUSTER_STATE", "/tmp/orchestrator-cluster")) / "audit.log"
OPERATOR_USER = "system:serviceaccount:orchestrator:orchestrator"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


def audit_entries(since: str = "", namespaces: set[str] | None = None, user: str | None = None) -> list[dict[str, Any]]:
    """Completed requests from the audit log, received at or after `since` (an RFC 3339 time),
    on objects in `namespaces`, by `user` (each filter only when given)."""
    entries = []
    with AUDIT_LOG.open() as log:
        for line in log:
            entry = json.loads(line)
            if entry.get("stage") != "ResponseComplete":
                continue
            if user and entry["user"]["username"] != user:
                continue
            if since and entry["requestReceivedTimestamp"] < since[:26]:
                continue
            if namespaces and (entry.get("objectRef") or {}).get("namespace") not in namespaces:
                continue
            entries.append(entry)
    return entries


def request_kind(entry: dict[str, Any]) -> str:
    """An audit entry as "verb resource[/subresource]", e.g. "patch adhoccommands/status"."""
    ref = entry.get("objectRef") or {}
    return f"{entry['verb']} {ref.get('resource')}" + (f"/{ref['subresource']}" if ref.get("subresource") else "")


class RestApi:
    """The REST API run from this checkout (uvicorn), with a kubeconfig that names the cluster and
    holds no credentials: every request acts with its caller's token."""

    def __init__(
        self,
        cluster: Cluster,
        directory: Path,
        port: int,
        env: dict[str, str] | None = None,
        scheme: str = "http",
        verify: Any = True,
    ) -> None:
        self.cluster, self.port, self.env, self.verify = cluster, port, env or {}, verify
        self.url = f"{scheme}://127.0.0.1:{port}"
        self.kubeconfig = kubeconfig_for(cluster, directory / "kubeconfig", {})
        self.log_path = REPO / ".cluster" / "logs" / f"rest-api-test-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "orchestrator.rest.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--timeout-keep-alive",
            "75",
        ]
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig), **self.env},
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self.up, 60, f"the REST API on {self.url}")

    def up(self) -> bool:
        import httpx

        assert self.process is not None
        assert self.process.poll() is None, f"the REST API exited: see {self.log_path}"
        try:
            return httpx.get(self.url + "/", verify=self.verify, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def token_for(cluster: Cluster, namespace: str, name: str, role: str | None) -> str:
    """A token of a new ServiceAccount in `namespace`, bound to the ClusterRole `role` there."""
    cluster.kubectl("-n", namespace, "create", "serviceaccount", name)
    if role:
        cluster.kubectl(
            "-n",
            namespace,
            "create",
            "rolebinding",
            f"{name}-{role}",
            f"--clusterrole={role}",
            f"--serviceaccount={namespace}:{name}",
        )
    return cluster.kubectl("-n", namespace, "create", "token", name).stdout.strip()


class WebhookReceiver:
    """A notification webhook on this machine (the operator the tests run posts its events
    here): keeps every JSON body it accepted; refuses (500) the first `refuse` posts about a
    given namespace/name, to show retries."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.attempts: dict[str, int] = {}
        self.refusals: dict[str, int] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                data = body.get("data") or {}
                key = f"{data.get('namespace')}/{data.get('name')}"
                receiver.attempts[key] = receiver.attempts.get(key, 0) + 1
                refused = receiver.attempts[key] <= receiver.refusals.get(key, 0)
                if not refused:
                    receiver.accepted.append(body)
                self.send_response(500 if refused else 202)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, namespace: str) -> list[dict[str, Any]]:
        return [e for e in list(self.accepted) if (e.get("data") or {}).get("namespace") == namespace]

    def stop(self) -> None:
        self.server.shutdown()
