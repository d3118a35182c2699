"""The operator's Prometheus metrics (prometheus-client), named as the contract says. No label
names a run: a label per AdhocCommand would grow without bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import prometheus_client
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orchestrator.model.objects import parse_time
from orchestrator.model.spec import PHASES

RUNS_STARTED = Counter("orchestrator_runs_started", "Runs started: a Job created for an AdhocCommand's spec")
RUNS_FINISHED = Counter("orchestrator_runs_finished", "Runs that ended, by how", ["phase"])
RUN_DURATION = Histogram(
    "orchestrator_run_duration_seconds",
    "Seconds from a run's start (its Job's startTime) to its end",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400),
)
KUBE_REQUESTS = Counter(
    "orchestrator_kube_requests", "Requests to the Kubernetes API, by verb and HTTP status code", ["verb", "code"]
)
NOTIFICATIONS = Counter(
    "orchestrator_notifications",
    "Events for the notification webhook: sent, retried (an attempt failed), failed (given up), dropped (queue full)",
    ["result"],
)
RECONCILES = Counter(
    "orchestrator_reconcile",
    "Reconciliations of one AdhocCommand: done, requeue (it comes back later), error",
    ["result"],
)
RECONCILE_SECONDS = Histogram(
    "orchestrator_reconcile_duration_seconds",
    "Seconds one reconciliation took, its API calls included",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTPUT_TRUNCATED = Counter(
    "orchestrator_output_truncated", "Outputs stored cut to spec.logs.maxBytes (their head and tail kept)"
)
VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def count_request(method: str, status: int, listing: bool = False, watching: bool = False) -> None:
    """One request to the API server, by Kubernetes verb (get, list, watch, create, ...)."""
    verb = "watch" if watching else "list" if listing else VERBS.get(method, "get")
    KUBE_REQUESTS.labels(verb, str(status)).inc()


def run_finished(status: Mapping[str, Any]) -> None:
    """A run's end: counted by phase, its duration (Job start to completion) observed."""
    RUNS_FINISHED.labels(status.get("phase", "")).inc()
    finished: Mapping[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Finished"), {})
    start, end = status.get("startTime"), status.get("completionTime") or finished.get("lastTransitionTime")
    if start and end:
        RUN_DURATION.observe(max(0.0, (parse_time(end) - parse_time(start)).total_seconds()))


# Pre-declared so that a dashboard shows 0 rather than nothing before the first run ends.
for _phase in ("Succeeded", "Failed"):
    RUNS_FINISHED.labels(_phase)
for _result in ("done", "requeue", "error"):
    RECONCILES.labels(_result)


class Gauges(Collector):
    """orchestrator_workqueue_depth (AdhocCommands waiting for or under reconciliation) and
    orchestrator_leader (1 on the replica that acts), read when scraped."""

    def __init__(self, depth: Callable[[], int], leading: Callable[[], bool]) -> None:
        self.depth, self.leading = depth, leading

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily(
            "orchestrator_workqueue_depth", "AdhocCommands waiting for or under reconciliation", value=self.depth()
        )
        yield GaugeMetricFamily(
            "orchestrator_leader", "1 on the replica that holds the Lease and acts", value=int(self.leading())
        )


class RunsByPhase(Collector):
    """orchestrator_runs{phase}: the AdhocCommands the operator knows now, by status.phase
    (the cache's tally when scraped, so never out of step)."""

    def __init__(self, phases: Callable[[], Mapping[str, int]]) -> None:
        self.phases = phases

    def collect(self) -> Iterator[Any]:
        family = GaugeMetricFamily("orchestrator_runs", "AdhocCommands known now, by phase", labels=["phase"])
        counts = dict(self.phases())
        for phase in dict.fromkeys([*PHASES, *sorted(counts)]):  # every phase, 0 included
            family.add_metric([phase], counts.get(phase, 0))
        yield family


def status_app(ready: Callable[[], bool]) -> Callable[..., Any]:
    """A WSGI app: /readyz (200 once the operator has listed its world, else 503) beside the
    metrics on every other path, so the pod's readiness probe differs from its liveness (kopf's
    /healthz on its own port, which says the event loop answers)."""
    metrics_app = prometheus_client.make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") != "/readyz":
            return metrics_app(environ, start_response)
        ok = ready()
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"ready\n" if ok else b"starting\n"]

    return app
