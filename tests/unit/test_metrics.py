"""The operator's metrics: the contract's names, the phase gauge from the cache's tally, no
label per run."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from orchestrator.operator import metrics
from orchestrator.operator.cache import Cache

from .factories import adhoc


def test_runs_by_phase_follows_the_cache():
    cache = Cache()
    cache.observe("adhoc", adhoc(name="a"))  # no status yet: Pending
    cache.observe("adhoc", adhoc(name="b", status={"phase": "Running"}))
    cache.observe("adhoc", adhoc(name="b", status={"phase": "Succeeded"}))
    cache.observe("adhoc", adhoc(name="c", status={"phase": "Failed"}))
    cache.observe("adhoc", adhoc(name="c"), deleted=True)
    registry = CollectorRegistry()
    registry.register(metrics.RunsByPhase(lambda: cache.phases))
    text = generate_latest(registry).decode()
    assert 'orchestrator_runs{phase="Pending"} 1.0' in text
    assert 'orchestrator_runs{phase="Succeeded"} 1.0' in text
    assert 'orchestrator_runs{phase="Running"} 0.0' in text and 'orchestrator_runs{phase="Failed"} 0.0' in text


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_a_finished_run_is_counted_and_timed():
    before = sample("orchestrator_runs_finished_total", {"phase": "Failed"})
    count = sample("orchestrator_run_duration_seconds_count")
    total = sample("orchestrator_run_duration_seconds_sum")
    metrics.run_finished(
        {
            "phase": "Failed",
            "startTime": "2026-01-01T00:00:00Z",
            "conditions": [{"type": "Finished", "status": "True", "lastTransitionTime": "2026-01-01T00:01:30Z"}],
        }
    )
    assert sample("orchestrator_runs_finished_total", {"phase": "Failed"}) == before + 1
    assert sample("orchestrator_run_duration_seconds_count") == count + 1
    assert sample("orchestrator_run_duration_seconds_sum") == total + 90


def test_requests_are_counted_by_kubernetes_verb():
    cases = [
        ("GET", 200, {"listing": True}, "list"),
        ("GET", 200, {"watching": True}, "watch"),
        ("GET", 404, {}, "get"),
        ("POST", 201, {}, "create"),
        ("PATCH", 200, {}, "patch"),
        ("PUT", 200, {}, "update"),
        ("DELETE", 0, {}, "delete"),
    ]
    for method, code, how, verb in cases:
        before = sample("orchestrator_kube_requests_total", {"verb": verb, "code": str(code)})
        metrics.count_request(method, code, **how)
        assert sample("orchestrator_kube_requests_total", {"verb": verb, "code": str(code)}) == before + 1


def test_the_status_port_says_ready_once_listed_and_serves_metrics_beside():
    state = {"ready": False}
    app = metrics.status_app(lambda: state["ready"])

    def get(path: str) -> tuple[str, bytes]:
        answer: list[str] = []
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
        body = b"".join(app(environ, lambda status, headers: answer.append(status)))
        return answer[0], body

    assert get("/readyz")[0].startswith("503")
    state["ready"] = True
    assert get("/readyz") == ("200 OK", b"ready\n")
    status, body = get("/metrics")
    assert status.startswith("200") and b"orchestrator_runs_started_total" in body
