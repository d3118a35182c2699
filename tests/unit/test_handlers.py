"""handlers.py: which changes reach the reconciler and when, and how a give-up is reported."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.kube.errors import ApiError
from orchestrator.model import config
from orchestrator.model.jobs import job_for
from orchestrator.model.names import LABEL_UID
from orchestrator.operator.handlers import Runtime
from orchestrator.operator.recent import Recent


class Recorder:
    """Stands in for the reconciler: records events; the queue records what was submitted."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.recent = Recent()

    def event(self, adhoc, type_, reason, message):
        self.events.append((type_, reason, message))

    async def reconcile(self, world):
        return None

    def forget_all(self) -> None:
        self.recent.forget_all()


@pytest.fixture
def runtime() -> tuple[Runtime, list[tuple[str, float]], Recorder]:
    recorder = Recorder()
    rt = Runtime(recorder, config.Config(settle_seconds=0.2))  # type: ignore[arg-type]
    rt.started = True  # its children listed
    submitted: list[tuple[str, float]] = []
    rt.queue.submit = lambda key, settle=0.0: submitted.append((key, settle))  # type: ignore[method-assign]
    return rt, submitted, recorder


def adhoc(uid: str = "u1", generation: int = 1) -> dict:
    return {
        "apiVersion": "orchestrator.dev/v1alpha1",
        "kind": "AdhocCommand",
        "metadata": {"name": "x", "namespace": "ns", "uid": uid, "generation": generation},
        "spec": {"command": "true"},
    }


def child(kind: str, uid: str, owner: str = "u1", **extra) -> dict:
    return {
        "kind": kind,
        "metadata": {
            "name": uid,
            "namespace": "ns",
            "uid": uid,
            "labels": {LABEL_UID: owner},
            "ownerReferences": [{"uid": owner, "controller": True}],
            **extra,
        },
    }


def test_an_adhoccommand_change_is_reconciled_at_once(runtime):
    rt, submitted, _ = runtime
    rt.observe("adhoc", "ADDED", adhoc())
    assert submitted == [("u1", 0.0)]
    rt.observe("adhoc", "MODIFIED", adhoc())  # the same as before: nothing to do
    assert submitted == [("u1", 0.0)]


def test_a_child_change_settles_before_its_reconciliation(runtime):
    rt, submitted, _ = runtime
    rt.observe("adhoc", "ADDED", adhoc())
    rt.observe("job", "ADDED", {**child("Job", "j1"), "status": {"active": 1}})
    assert submitted[-1] == ("u1", 0.2)


async def test_the_status_pacing_counts_the_runs_running_not_only_those_queued(runtime):
    """In a burst most runs are running, not queued: their states under way are written less
    often the more there are (pacing.status_interval), so the end is most runs' one write."""
    rt, _, recorder = runtime
    told: list[int] = []

    async def reconcile(world, busy=0):
        told.append(busy)

    recorder.reconcile = reconcile
    for i in range(3):
        rt.observe("adhoc", "ADDED", adhoc(f"u{i}"))
        rt.observe("pod", "ADDED", {**child("Pod", f"p{i}", owner=f"u{i}"), "status": {"phase": "Running"}})
    await rt._reconcile("u0")
    assert told == [3]  # three runs with pods, none of them queued here
    rt.observe("pod", "DELETED", child("Pod", "p2", owner="u2"))
    await rt._reconcile("u0")
    assert told == [3, 2]


def test_a_jobs_end_is_reconciled_at_once(runtime):
    """The run's final status waits for nothing that follows its Job's end (no settle)."""
    rt, submitted, _ = runtime
    rt.observe("adhoc", "ADDED", adhoc())
    for status, settle in (
        ({"active": 1}, 0.2),
        ({"succeeded": 1, "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}]}, 0.2),
        ({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}, 0.0),
        ({"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}, 0.0),
    ):
        rt.observe("job", "MODIFIED", {**child("Job", "j1"), "status": status})
        assert submitted[-1] == ("u1", settle), status


def finished(rt: Runtime, uid: str = "u1", job_ttl: int | None = None) -> dict:
    """A run whose end is written, its Job listed first: what a start finds (sealed, settled or not)."""
    owner = adhoc(uid)
    done = job_for(owner, config.Config())
    done["metadata"].update(uid=f"j-{uid}")
    done["spec"]["ttlSecondsAfterFinished"] = job_ttl
    done["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    rt.observe("job", None, done)
    ended = {"phase": "Succeeded", "observedGeneration": 1, "jobName": done["metadata"]["name"]}
    return {**owner, "status": ended}


def test_a_start_skips_runs_that_ended_with_nothing_due(runtime):
    rt, submitted, _ = runtime
    rt.observe("adhoc", None, finished(rt, "u1"))
    assert rt.cache.sealed == 1 and submitted == []
    due = finished(rt, "u2", job_ttl=60)  # its Job's TTL to take off (the spec has none)
    rt.observe("adhoc", None, due)
    assert submitted == [("u2", 0.0)]
    rt.lead()  # a takeover reconciles all but the settled
    assert submitted == [("u2", 0.0), ("u2", 0.0)]


def test_a_settled_run_the_operator_wrote_lately_is_reconciled(runtime):
    """kopf listing again after a watch error: a run with writes of this process the watch may
    not show yet is reconciled, as any other change."""
    rt, submitted, recorder = runtime
    recorder.recent = Recent()
    recorder.recent.written["u1"] = {"phase": "Succeeded"}
    rt.observe("adhoc", None, finished(rt, "u1"))
    assert submitted == [("u1", 0.0)]


def test_the_first_listing_of_children_waits_for_the_adhoccommands(runtime):
    rt, submitted, _ = runtime
    rt.observe("pod", None, child("Pod", "p1"))  # listed before kopf's watch: its AdhocCommand covers it
    assert submitted == []


def test_the_operators_own_configmap_writes_trigger_nothing(runtime):
    rt, submitted, _ = runtime
    configmap = child("ConfigMap", "cm", annotations={"orchestrator.dev/pod-uid": "p1"})
    rt.observe("configmap", "ADDED", configmap)
    assert submitted == []


def test_children_gone_from_a_new_listing_are_reconciled(runtime):
    rt, submitted, _ = runtime
    rt.observe("job", "ADDED", child("Job", "j1"))
    submitted.clear()
    rt._listed("job", None, set())
    assert submitted == [("u1", 0.2)]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ApiError(503, "unavailable"), [("Warning", "APIError", "trying again in a minute: 503: unavailable")]),
        (ApiError(422, "invalid"), [("Warning", "APIError", "trying at its next change: 422: invalid")]),
        (ApiError(403, "namespace ns is being terminated"), []),  # nothing there needs doing any more
    ],
)
def test_a_give_up_is_told_as_an_event(runtime, error, expected):
    rt, _, recorder = runtime
    rt.observe("adhoc", "ADDED", adhoc())
    rt._give_up("u1", error)
    assert recorder.events == expected


def test_with_namespaced_rbac_only_the_served_namespaces_adhoccommands_run():
    rt = Runtime(Recorder(), config.Config(namespaces=("ns",)))  # type: ignore[arg-type]
    rt.started = True
    submitted: list[str] = []
    rt.queue.submit = lambda key, settle=0.0: submitted.append(key)  # type: ignore[method-assign]
    elsewhere = adhoc("u2")
    elsewhere["metadata"]["namespace"] = "other"
    rt.observe("adhoc", "ADDED", elsewhere)  # kopf told of it (--all-namespaces beside the setting)
    rt.observe("adhoc", "ADDED", adhoc("u1"))
    assert submitted == ["u1"] and rt.cache.world("u2").adhoc is None


async def turns(n: int = 10) -> None:
    """Lets the tasks started so far run as far as they can."""
    for _ in range(n):
        await asyncio.sleep(0)


class SlowLists:
    """The API as Runtime.start lists it: each kind's one page comes when `release` is set; the
    watches then wait for ever."""

    def __init__(self, jobs: list[dict]) -> None:
        self.jobs, self.release, self.asked = jobs, asyncio.Event(), 0

    async def list_pages(self, url, selector, metadata_only):
        self.asked += 1
        await self.release.wait()
        yield {"metadata": {"resourceVersion": "1"}, "items": self.jobs if "/jobs" in url else []}

    async def watch(self, url, since, selector, metadata_only):
        await asyncio.Event().wait()
        yield "ADDED", {}

    async def close(self) -> None:
        pass


async def test_runs_wait_for_their_children_to_be_listed_all_at_once():
    """kopf lists the AdhocCommands while the children are listed: a run seen before its Job is
    not reconciled (it would look as if it had none) until every kind is listed."""
    recorder = Recorder()
    rt = Runtime(recorder, config.Config())  # type: ignore[arg-type]
    submitted: list[str] = []
    rt.queue.submit = lambda key, settle=0.0: submitted.append(key)  # type: ignore[method-assign]
    owner = adhoc("u1")
    running = job_for(owner, config.Config())
    running["metadata"]["uid"] = "j1"
    running["status"] = {"active": 1}
    api = SlowLists([running])
    await rt.start(api)  # type: ignore[arg-type]
    rt.observe("adhoc", None, owner)  # kopf's listing, before the Jobs'
    await turns()
    assert api.asked == 3 and submitted == [] and not rt.started  # Jobs, Pods, ConfigMaps at once
    api.release.set()
    await turns()
    assert rt.started and submitted == ["u1"]
    assert [j["metadata"]["uid"] for j in rt.cache.world("u1").jobs] == ["j1"]
    await rt.stop()


async def test_pods_labelled_for_runs_that_do_not_exist_do_not_slow_the_status(runtime):
    """A tenant may label any pod with a run's uid: a hundred such pods beside one real run are
    not a hundred runs running (which would stretch every run's status interval fourfold)."""
    rt, _, recorder = runtime
    told: list[int] = []

    async def reconcile(world, busy=0):
        told.append(busy)

    recorder.reconcile = reconcile
    rt.observe("adhoc", "ADDED", adhoc("u0"))
    rt.observe("pod", "ADDED", {**child("Pod", "p0", owner="u0"), "status": {"phase": "Running"}})
    for i in range(100):
        rt.observe("pod", "ADDED", {**child("Pod", f"fake{i}", owner=f"made-up-{i}"), "status": {"phase": "Running"}})
    await rt._reconcile("u0")
    assert told == [1]
