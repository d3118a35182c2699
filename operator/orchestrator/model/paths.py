"""Kubernetes API paths, built in one place, every segment checked and escaped (pure).

Names reach these paths from users (spec.from.name, a REST id, a status an admin may edit). Joined
unescaped, `../../kube-system/deployments/coredns` is normalised by the HTTP client into another
namespace's object. Here a segment is percent-escaped whole ("/" becomes %2F, which the API server
takes as part of one name and so answers 404), and "." and ".." are refused outright.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import quote

from orchestrator import GROUP, PLURAL, VERSION

# Object names: most kinds' names are DNS subdomains, namespaces and Job names DNS labels.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_SUBDOMAIN_MAX = 253
DNS_LABEL_MAX = 63
_SUBDOMAIN = re.compile(DNS_SUBDOMAIN)
_LABEL = re.compile(DNS_LABEL)


class UnsafeName(ValueError):
    """A name that cannot stand as one segment of an API path."""


class Resource(NamedTuple):
    """Where a kind lives: group path ("" for the core group), version, plural."""

    base: str
    version: str
    plural: str


ADHOCS = Resource(f"/apis/{GROUP}", VERSION, PLURAL)
JOBS = Resource("/apis/batch", "v1", "jobs")
LEASES = Resource("/apis/coordination.k8s.io", "v1", "leases")
PODS = Resource("", "v1", "pods")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
EVENTS = Resource("", "v1", "events")
NAMESPACES = Resource("", "v1", "namespaces")
SELF_REVIEWS = Resource("/apis/authentication.k8s.io", "v1", "selfsubjectreviews")
SELF_ACCESS_REVIEWS = Resource("/apis/authorization.k8s.io", "v1", "selfsubjectaccessreviews")
# The workloads a run may take its template from (spec.from.kind).
WORKLOADS = {
    "Deployment": Resource("/apis/apps", "v1", "deployments"),
    "StatefulSet": Resource("/apis/apps", "v1", "statefulsets"),
    "DaemonSet": Resource("/apis/apps", "v1", "daemonsets"),
    "Job": JOBS,
    "CronJob": Resource("/apis/batch", "v1", "cronjobs"),
}


def is_namespace_name(name: object) -> bool:
    """Whether `name` is a DNS label, as namespace names are."""
    return isinstance(name, str) and len(name) <= DNS_LABEL_MAX and _LABEL.fullmatch(name) is not None


def is_object_name(name: object) -> bool:
    """Whether `name` is a DNS subdomain: what the API server accepts as most objects' names."""
    return isinstance(name, str) and len(name) <= DNS_SUBDOMAIN_MAX and _SUBDOMAIN.fullmatch(name) is not None


def segment(value: str) -> str:
    """One path segment: escaped whole; empty, "." and ".." refused (a client would resolve them)."""
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise UnsafeName(f"{value!r} is not a name")
    return quote(value, safe="")


def path(
    base: str, version: str, plural: str, namespace: str | None = None, name: str = "", subresource: str = ""
) -> str:
    """An API path: base "" is the core group, else "/apis/<group>"."""
    root = f"{base or '/api'}/{version}"
    scope = f"/namespaces/{segment(namespace)}" if namespace else ""
    tail = f"/{segment(name)}" if name else ""
    if subresource:
        tail += f"/{segment(subresource)}"
    return f"{root}{scope}/{plural}{tail}"


def field_value(value: str) -> str:
    """A value in a field selector (`key=value,key=value`), its separators escaped as the API
    server unescapes them: a value never ends the term or starts another."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
