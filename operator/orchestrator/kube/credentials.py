"""Where the Kubernetes API is and how to log in to it, found as kubectl finds them.

In a pod: its ServiceAccount (the token file is read again when it rotates). Elsewhere:
$KUBECONFIG (a list of files, merged) or ~/.kube/config, any context, and whatever its user
holds: a token, a client certificate, an exec credential plugin (GKE, EKS, AKS), OIDC. The
`kubernetes` package reads all of these; kopf's own readers know no exec plugins.

Every caller (the operator, the REST API, kubectl-adhoc, the benchmark) gets its connection
here. Calling `login` again fetches the credential again (runs the exec plugin anew): that is
what a caller does when the API server rejects the one it has.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import ssl
from pathlib import Path

from kubernetes import client, config
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# The cluster's root CA, as the REST API's pod mounts it from the kube-root-ca.crt ConfigMap
# (it has no ServiceAccount token, so none of the ServiceAccount's files).
ROOT_CA_MOUNT = Path("/etc/orchestrator/kube-root-ca/ca.crt")


class CredentialsError(Exception):
    """No usable connection: says in one line what is missing."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Which kubeconfig and context, as kubectl's --kubeconfig and --context say; by default
    the pod's ServiceAccount when in a pod, else $KUBECONFIG's current context."""

    kubeconfig: str | None = None
    context: str | None = None

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig is None and self.context is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))

    @property
    def files(self) -> str:
        return self.kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


@dataclasses.dataclass(frozen=True)
class Target:
    """Where the API server is and how to trust it; no credentials (the REST API uses its callers')."""

    server: str
    ssl_context: ssl.SSLContext | bool


@dataclasses.dataclass(frozen=True)
class Login:
    """A server and a credential for it. Not kopf's ConnectionInfo (the operator converts it):
    kubectl-adhoc never imports kopf, which would double its start-up time and tie its zipapp
    to kopf's dependencies. Files only: the `kubernetes` package writes inline data to files."""

    server: str
    ca_path: str | None = None
    insecure: bool = False
    username: str | None = None
    password: str | None = None
    scheme: str | None = None
    token: str | None = None
    certificate_path: str | None = None
    private_key_path: str | None = None

    def as_http_headers(self) -> dict[str, str]:
        if self.username and self.password:
            basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        if self.token:
            return {"Authorization": f"{self.scheme or 'Bearer'} {self.token}"}
        return {}

    def as_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_path)
        if self.insecure:  # the kubeconfig's insecure-skip-tls-verify
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.certificate_path:
            ctx.load_cert_chain(self.certificate_path, self.private_key_path)
        return ctx


def login(source: Source = Source()) -> Login:
    """The server and a fresh credential for it (runs an exec plugin, reads a token file)."""
    cfg = client.Configuration()
    try:
        if source.in_cluster and (SERVICE_ACCOUNT / "token").exists():
            config.load_incluster_config(client_configuration=cfg)
        else:
            loader = _loader(source)
            loader.load_and_set(cfg)
            # The library logs a failed exec plugin and goes on without a credential.
            user = loader._user
            if user is not None and "exec" in user and "token" not in loader.__dict__ and not cfg.cert_file:
                raise config.ConfigException(f"the exec credential plugin of user {user.name!r} failed")
    except (config.ConfigException, OSError, KeyError, ValueError) as err:
        raise CredentialsError(f"no Kubernetes credentials from {_described(source)}: {_one_line(err)}") from err
    header = cfg.get_api_key_with_prefix("BearerToken") or cfg.get_api_key_with_prefix("authorization")
    scheme, _, token = (header or "").partition(" ")
    if not token:  # a header without a scheme
        scheme, token = "Bearer", scheme
    return Login(
        server=cfg.host,
        ca_path=cfg.ssl_ca_cert,
        insecure=not cfg.verify_ssl,
        username=cfg.username or None,
        password=cfg.password or None,
        scheme=scheme if token else None,
        token=token or None,
        certificate_path=cfg.cert_file,
        private_key_path=cfg.key_file,
    )


def target(source: Source = Source()) -> Target:
    """The API server and the CA to trust it by, without reading or running any credential."""
    if source.in_cluster:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        host = f"[{host}]" if ":" in host else host
        ca = ROOT_CA_MOUNT if ROOT_CA_MOUNT.exists() else SERVICE_ACCOUNT / "ca.crt"
        return Target(f"https://{host}:{port}", ssl.create_default_context(cafile=str(ca)))
    try:
        loader = _loader(source)
        loader._load_cluster_info()  # the cluster half of load_and_set: no credential is run
    except (config.ConfigException, OSError, KeyError, ValueError) as err:
        raise CredentialsError(f"no Kubernetes cluster in {_described(source)}: {_one_line(err)}") from err
    cluster = loader.__dict__
    if cluster.get("verify_ssl") is False:
        return Target(cluster["host"], False)
    ctx = ssl.create_default_context(cafile=cluster.get("ssl_ca_cert") or None)
    return Target(cluster["host"], ctx)


def namespace(source: Source = Source()) -> str:
    """The namespace kubectl would use: the context's, the pod's own, else "default"."""
    if source.in_cluster and (SERVICE_ACCOUNT / "namespace").exists():
        return (SERVICE_ACCOUNT / "namespace").read_text().strip() or "default"
    try:
        context = _loader(source)._current_context
    except (config.ConfigException, OSError, KeyError, ValueError) as err:
        raise CredentialsError(f"no Kubernetes context in {_described(source)}: {_one_line(err)}") from err
    return (context["context"].safe_get("namespace") if context else None) or "default"


def _loader(source: Source) -> KubeConfigLoader:
    """The library's loader for the merged files and the chosen context (what load_kube_config
    makes, kept so that what it found can be checked)."""
    merged = KubeConfigMerger(source.files)
    if merged.config is None:
        raise config.ConfigException("no configuration found")
    return KubeConfigLoader(config_dict=merged.config, active_context=source.context)


def _described(source: Source) -> str:
    if source.in_cluster:
        return "the pod's ServiceAccount"
    return f"kubeconfig {source.files}" + (f" (context {source.context})" if source.context else "")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
