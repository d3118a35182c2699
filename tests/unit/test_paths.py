"""Every Kubernetes API path is built by orchestrator.model.paths: names escaped, dot segments refused."""

from __future__ import annotations

import pytest
import yarl

from orchestrator.model.paths import (
    ADHOCS,
    CONFIGMAPS,
    JOBS,
    PODS,
    WORKLOADS,
    UnsafeName,
    field_value,
    is_namespace_name,
    is_object_name,
    path,
)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((JOBS,), "/apis/batch/v1/jobs"),
        ((JOBS, "ns"), "/apis/batch/v1/namespaces/ns/jobs"),
        ((CONFIGMAPS, "ns", "x-logs"), "/api/v1/namespaces/ns/configmaps/x-logs"),
        ((PODS, "ns", "p", "log"), "/api/v1/namespaces/ns/pods/p/log"),
        ((ADHOCS, "ns", "a.b", "status"), "/apis/orchestrator.dev/v1alpha1/namespaces/ns/adhoccommands/a.b/status"),
        # A name is one segment, whatever it holds: the API server answers 404, not another object.
        (
            (WORKLOADS["Deployment"], "team-a", "../../kube-system/deployments/coredns"),
            "/apis/apps/v1/namespaces/team-a/deployments/..%2F..%2Fkube-system%2Fdeployments%2Fcoredns",
        ),
        ((CONFIGMAPS, "ns", "a?b#c%d"), "/api/v1/namespaces/ns/configmaps/a%3Fb%23c%25d"),
    ],
)
def test_paths(parts, expected):
    resource, *rest = parts
    built = path(*resource, *rest)
    assert built == expected
    # What the HTTP client sends: no segment is resolved away.
    assert yarl.URL("https://api.example" + built).raw_path == expected


@pytest.mark.parametrize("name", ["..", "."])
def test_dot_segments_are_refused(name):
    with pytest.raises(UnsafeName):
        path(*PODS, "ns", name)
    with pytest.raises(UnsafeName):
        path(*PODS, name, "p")
    with pytest.raises(UnsafeName):
        path(*PODS, "ns", "p", name)


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("web", True),
        ("web.v2", True),
        ("a" * 253, True),
        ("a" * 254, False),
        ("Web", False),
        ("../x", False),
        ("-web", False),
        ("web-", False),
        ("", False),
        (None, False),
        ("a/b", False),
    ],
)
def test_object_names(name, ok):
    assert is_object_name(name) is ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("team-a", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("team.a", False),  # a subdomain, not a label
        ("Team", False),
        ("-a", False),
        ("", False),
        (None, False),
    ],
)
def test_namespace_names(name, ok):
    assert is_namespace_name(name) is ok


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("3f1c2a9e-0b7d-4c1e-9a53-2d8f7e6b5a41", "3f1c2a9e-0b7d-4c1e-9a53-2d8f7e6b5a41"),
        ("x,reason=Anything", "x\\,reason\\=Anything"),  # cannot add a term of its own
        ("a\\,b", "a\\\\\\,b"),
        ("", ""),
    ],
)
def test_a_field_selector_value_is_escaped(value, escaped):
    assert field_value(value) == escaped
