"""Edge cases of the reconciler against an in-memory stand-in for the API (the real cluster is in
tests/cluster); each case is one a real API server produces only rarely or by accident."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest

from orchestrator.kube.client import NotOwned
from orchestrator.kube.errors import ApiError
from orchestrator.model.config import Config
from orchestrator.model.output import stored_output_from
from orchestrator.operator.reconcile import Reconciler
from orchestrator.operator.workqueue import Queue
from orchestrator.operator.world import World

from .factories import adhoc, condition, job, pod, terminated


class FakeKube:
    def __init__(
        self,
        *,
        create_error: ApiError | None = None,
        existing: dict | None = None,
        log: bytes = b"out\n",
        log_error: ApiError | None = None,
    ) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.create_error, self.existing = create_error, existing
        self.log, self.log_error = log, log_error
        self.status: dict[str, Any] = {}  # the last status patch
        # The last ConfigMap / Secret stored (Any: a test sets what it likes, or None).
        self.configmap: Any = None
        self.secret: Any = None
        self.foreign_configmap = False  # a ConfigMap of the name exists and is someone else's
        self.workloads: dict[str, dict] = {}
        self.refusals: list[str | ApiError | None] = []  # what each look for a FailedCreate event finds, in turn

    async def create_job(self, body):
        self.calls.append(("create_job", body["metadata"]["name"]))
        if self.create_error:
            raise self.create_error
        return {**body, "metadata": {**body["metadata"], "uid": "job-uid", "creationTimestamp": "t"}}

    async def get_job(self, namespace, name):
        self.calls.append(("get_job", name))
        return self.existing

    async def patch_job(self, namespace, name, patch):
        self.calls.append(("patch_job", patch))
        return self.existing

    async def delete_job(self, namespace, name, uid):
        self.calls.append(("delete_job", name))

    async def patch_status(self, namespace, name, patch):
        self.calls.append(("patch_status", patch))
        self.status = patch

    async def delete_adhoc(self, namespace, name, uid):
        self.calls.append(("delete_adhoc", name))

    async def read_log(self, namespace, pod_name, container, sink):
        self.calls.append(("read_log", pod_name))
        if self.log_error:
            raise self.log_error
        sink(self.log)

    async def store_configmap(self, body):
        self.calls.append(("store_configmap", body["metadata"]["name"]))
        if self.foreign_configmap:
            raise NotOwned(body["metadata"]["namespace"], body["metadata"]["name"])
        self.configmap = body

    async def store_secret(self, body):
        self.calls.append(("store_secret", body["metadata"]["name"]))
        if self.foreign_configmap:
            raise NotOwned(body["metadata"]["namespace"], body["metadata"]["name"], "Secret")
        self.secret = body

    async def get_configmap(self, namespace, name):
        self.calls.append(("get_configmap", name))
        return self.configmap

    async def delete_configmap(self, namespace, name, owner_uid):
        self.calls.append(("delete_configmap", name))
        return True

    async def get_workload(self, kind, namespace, name):
        self.calls.append(("get_workload", name))
        return self.workloads.get(name)

    async def refusal_of(self, namespace, job_uid):
        self.calls.append(("refusal_of", (namespace, job_uid)))
        found = self.refusals.pop(0) if self.refusals else None
        if isinstance(found, ApiError):
            raise found
        return found

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def reconciler(
    kube: FakeKube, notify: Any = None, config: Config | None = None
) -> tuple[Reconciler, list[tuple[str, str]]]:
    events: list[tuple[str, str]] = []
    r = Reconciler(
        kube,
        config or Config(),
        lambda _a, type_, reason, _m: events.append((type_, reason)),
        clock=lambda: "2026-01-01T00:00:00Z",
        notify=notify,
    )
    return r, events


def clocked_reconciler(kube: FakeKube, now: list[float]) -> Reconciler:
    """A reconciler whose monotonic clock reads now[0], with a status interval of 1 s."""
    return Reconciler(
        kube,
        Config(status_interval_seconds=1.0),
        lambda *_: None,
        clock=lambda: "2026-01-01T00:00:00Z",
        monotonic=lambda: now[0],
    )


async def test_first_reconcile_creates_the_job_and_the_jobs_event_reports_it():
    owner = adhoc()
    kube = FakeKube()
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [], [], None))
    assert kube.names() == ["create_job"]  # the status waits for the Job's own watch event
    assert events == []  # the Job controller's SuccessfulCreate on the Job tells it; the run's end has one
    # Before the Job's watch event; a run that ends within the status interval gets one status
    # write, so its pending state waits that long.
    waiting = World(owner, [], [pod(phase="Pending")], None)
    wait = await r.reconcile(waiting)
    assert wait is not None and 0 < wait <= Config().status_interval_seconds
    assert kube.names() == ["create_job"]
    r.monotonic = lambda: time.monotonic() + Config().status_interval_seconds
    assert await r.reconcile(waiting) is None
    assert kube.names() == ["create_job", "patch_status"]
    assert kube.status["phase"] == "Pending" and kube.status["jobName"] == "cmd-1"


async def test_job_left_by_a_restart_is_adopted_not_duplicated():
    owner = adhoc()
    kube = FakeKube(create_error=ApiError(409, "exists", "AlreadyExists"), existing=job(owner, active=1))
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [], [], None))
    assert kube.names() == ["create_job", "get_job"]
    assert events == []


async def test_job_of_the_same_name_owned_by_another_object_is_a_conflict():
    owner = adhoc()
    foreign = job(adhoc(name="other"))
    foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    kube = FakeKube(create_error=ApiError(409, "exists", "AlreadyExists"), existing=foreign)
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [], [], None))
    assert kube.status["phase"] == "Failed" and kube.status["reason"] == "JobConflict"
    assert ("Warning", "JobConflict") in events


async def test_a_pod_the_job_controller_could_not_create_is_reported_from_its_event():
    """No Events watch: the Job's status (taken up, nothing active, no pod) makes the reconciler
    read the Job's FailedCreate event in the run's namespace, again and less often until there
    is one; once found it is not read again, and a pod made later ends it."""
    owner = adhoc()
    refused = job(owner, startTime="2026-01-01T00:00:01Z", ready=0)
    kube = FakeKube()
    kube.refusals = [None, None, 'pods "cmd-1-x" is forbidden: violates PodSecurity "restricted:latest"']
    now = [100.0]
    r = clocked_reconciler(kube, now)  # a status interval of 1 s
    waits = []
    for _ in range(3):
        waits.append(await r.reconcile(World(owner, [refused], [], None)))
        now[0] += 5  # the queue comes back after the wait it was given
    assert kube.calls.count(("refusal_of", ("ns", "job-uid"))) == 3
    assert waits[:2] == [1.0, 2.0]  # looked for again, less and less often
    assert kube.status["phase"] == "Pending" and kube.status["reason"] == "FailedCreate"
    assert "violates PodSecurity" in kube.status["message"]
    kube.calls.clear()
    await r.reconcile(World(owner, [refused], [], None))
    assert "refusal_of" not in kube.names()  # known: not read again
    now[0] += 5
    made = job(owner, startTime="2026-01-01T00:00:01Z", active=1)  # the namespace's standard loosened
    await r.reconcile(World(owner, [made], [pod(phase="Running")], None))
    assert "patch_status" in kube.names() and "refusal_of" not in kube.names()
    assert kube.status["phase"] == "Running" and kube.status.get("reason") != "FailedCreate"


@pytest.mark.parametrize(("error", "reads"), [(ApiError(403, "forbidden"), 1), (ApiError(503, "unavailable"), 2)])
async def test_events_that_cannot_be_read_never_hold_back_the_status(error, reads):
    """An install whose role lacks `list events` still gets its run's status, without a reason;
    a forbidden read is not tried again for that Job, a transient one is."""
    owner = adhoc()
    refused = job(owner, startTime="2026-01-01T00:00:01Z")
    kube = FakeKube()
    kube.refusals = [error, error]
    now = [100.0]
    r = clocked_reconciler(kube, now)
    for _ in range(2):
        await r.reconcile(World(owner, [refused], [], None))
        now[0] += 5
    assert kube.calls.count(("refusal_of", ("ns", "job-uid"))) == reads
    assert kube.status["phase"] == "Pending" and kube.status.get("reason") != "FailedCreate"


@pytest.mark.parametrize(
    ("counts", "pods"),
    [
        ({}, []),  # not taken up by the Job controller yet (a burst's backlog)
        ({"startTime": "2026-01-01T00:00:01Z", "active": 1}, []),  # its pod made, not seen yet
        ({"startTime": "2026-01-01T00:00:01Z", "active": 1}, [pod()]),
    ],
)
async def test_a_run_under_way_reads_no_event(counts, pods):
    owner = adhoc()
    kube = FakeKube()
    r, _ = reconciler(kube)
    await r.reconcile(World(owner, [job(owner, **counts)], pods, None))
    assert "refusal_of" not in kube.names()


async def test_job_refused_by_the_api_server_is_reported_not_retried():
    kube = FakeKube(create_error=ApiError(422, "spec.template: Invalid value", "Invalid"))
    r, events = reconciler(kube)
    await r.reconcile(World(adhoc(), [], [], None))
    assert kube.status["phase"] == "Failed" and kube.status["reason"] == "JobRejected"
    assert "Invalid value" in kube.status["message"]
    assert ("Warning", "JobRejected") in events


async def test_transient_create_error_is_raised_for_a_retry():
    kube = FakeKube(create_error=ApiError(503, "unavailable"))
    r, _ = reconciler(kube)
    with pytest.raises(ApiError):
        await r.reconcile(World(adhoc(), [], [], None))
    assert "patch_status" not in kube.names()


async def test_output_is_stored_once_before_the_status_says_finished():
    owner = adhoc()
    done = pod(phase="Succeeded", state=terminated(0))
    kube = FakeKube(log=b"hello\n")
    r, _ = reconciler(kube)
    # The pod ended, the Job has not counted it yet: store the output, hold the status.
    await r.reconcile(World(owner, [job(owner, active=1)], [done], None))
    assert kube.names() == ["read_log", "store_configmap"]
    assert kube.configmap["data"] == {"output": "hello\n"}
    kube.calls.clear()
    finished = job(owner, succeeded=1, conditions=[condition("Complete")])
    await r.reconcile(World(owner, [finished], [done], None))
    assert kube.names() == ["patch_status"]  # output stored already: not read again
    assert kube.status["phase"] == "Succeeded" and kube.status["logs"]["bytes"] == 6
    kube.calls.clear()
    await r.reconcile(World(owner, [finished], [done], None))  # the watches have not caught up
    assert kube.names() == []


@pytest.mark.parametrize(
    ("exit_code", "config", "told"),
    [
        (0, Config(), []),  # the default: its status says it
        (0, Config(success_events=True), [("Normal", "Succeeded")]),  # ORCHESTRATOR_SUCCESS_EVENTS=true
        (3, Config(), [("Warning", "Failed")]),  # a failure always
    ],
)
async def test_a_failure_is_an_event_and_a_success_only_when_asked(exit_code, config, told):
    owner = adhoc()
    ended = pod(phase="Succeeded" if exit_code == 0 else "Failed", state=terminated(exit_code))
    finished = (
        job(owner, succeeded=1, conditions=[condition("Complete")])
        if exit_code == 0
        else job(owner, failed=1, conditions=[condition("Failed")])
    )
    kube = FakeKube(log=b"done\n")
    r, events = reconciler(kube, config=config)
    await r.reconcile(World(owner, [finished], [ended], None))
    assert kube.status["phase"] == ("Succeeded" if exit_code == 0 else "Failed")
    assert events == told


async def test_unreadable_output_is_stored_empty_with_the_reason():
    owner = adhoc()
    kube = FakeKube(log_error=ApiError(400, "no logs found for container"))
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [job(owner, failed=1)], [pod(phase="Failed", state=terminated(1))], None))
    assert kube.configmap["data"] == {"output": ""}
    assert "no logs found" in kube.configmap["metadata"]["annotations"]["orchestrator.dev/error"]
    assert ("Warning", "OutputUnavailable") in events


async def test_deleted_adhoccommand_is_left_to_the_garbage_collector():
    owner = adhoc()
    owner["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    kube = FakeKube()
    r, _ = reconciler(kube)
    await r.reconcile(World(owner, [], [], None))
    assert kube.names() == []


async def test_queue_retries_transient_errors_and_folds_concurrent_submits():
    runs: list[str] = []
    failures = iter([ApiError(503, "busy"), ApiError(429, "slow down")])

    async def work(key: str) -> None:
        runs.append(key)
        await asyncio.sleep(0.01)
        error = next(failures, None)
        if error:
            raise error

    queue = Queue(work, retries=3, on_give_up=lambda *_: pytest.fail("gave up"))
    for _ in range(3):
        queue.submit("a")
    await queue.drain()
    assert runs == ["a", "a", "a"]  # two failed attempts, then success; the extra submits folded in


async def test_queue_settles_before_working():
    runs: list[str] = []

    async def work(key: str) -> None:
        runs.append(key)

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    queue.submit("a", settle=0.05)
    for _ in range(5):
        queue.submit("a", settle=0.05)  # more of the burst, during the settle time: folded into the one run
    await queue.drain()
    assert runs == ["a"]


async def test_an_end_cuts_the_settle_short():
    """A Job's end (submitted without settle) is worth no waiting: the settle under way ends."""
    runs: list[float] = []

    async def work(key: str) -> None:
        runs.append(asyncio.get_running_loop().time())

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    started = asyncio.get_running_loop().time()
    queue.submit("a", settle=5.0)  # the pod ended
    queue.submit("a")  # its Job completed
    await asyncio.wait_for(queue.drain(), 2)
    assert len(runs) == 1 and runs[0] - started < 1


async def test_a_change_wakes_a_held_back_reconciliation_at_once():
    """A status held back for ten seconds (only counts changed) must not hold back the run's end:
    the change that ends it reconciles at once (the burst's latency tail came from this)."""
    answers = iter([10.0, None])
    runs: list[float] = []
    held = asyncio.Event()

    async def work(key: str) -> float | None:
        runs.append(asyncio.get_running_loop().time())
        held.set()
        return next(answers)

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    queue.submit("a")
    await held.wait()
    queue.submit("a")  # e.g. the pod ended
    await asyncio.wait_for(queue.drain(), 2)
    assert len(runs) == 2 and runs[1] - runs[0] < 1


@pytest.mark.parametrize("settle", [0.0, 0.05])
async def test_work_cancelled_before_it_started_is_not_lost(settle):
    """Leadership lost right after a submit cancels a task before it ever ran (its coroutine's
    finally never runs): the key must not stay marked as under way, or the next leader's
    submit would fold into a task that is gone and the run would never be reconciled again."""
    runs: list[str] = []

    async def work(key: str) -> None:
        runs.append(key)

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    queue.submit("a", settle=settle)
    queue.cancel_all()  # before the task's first step
    await asyncio.wait_for(queue.drain(), 2)
    assert len(queue) == 0 and runs == []
    queue.submit("a", settle=settle)  # leading again
    await asyncio.wait_for(queue.drain(), 2)
    assert runs == ["a"]


async def test_queue_gives_up_on_permanent_errors_at_once():
    given_up: list[Exception] = []

    async def work(key: str) -> None:
        raise ApiError(422, "invalid")

    queue = Queue(work, retries=5, on_give_up=lambda _k, e: given_up.append(e))
    queue.submit("a")
    await queue.drain()
    assert len(given_up) == 1 and isinstance(given_up[0], ApiError) and given_up[0].status == 422


async def test_queue_retries_a_403_a_while_then_gives_up_once():
    """An API server that just started refuses all until its RBAC caches fill; a lasting 403 is
    a missing permission: said once, not retried every minute."""
    given_up: list[Exception] = []
    answers = iter([ApiError(403, "forbidden"), None])

    async def work(key: str) -> None:
        error = next(answers, ApiError(403, "forbidden"))
        if error:
            raise error

    queue = Queue(work, retries=2, on_give_up=lambda _k, e: given_up.append(e))
    queue.submit("a")  # refused once, then let through
    await queue.drain()
    assert given_up == []
    queue.submit("b")  # refused on every attempt
    await queue.drain()
    assert len(given_up) == 1 and isinstance(given_up[0], ApiError) and given_up[0].status == 403


async def test_queue_survives_a_bug_in_the_work():
    given_up: list[Exception] = []

    async def work(key: str) -> None:
        raise KeyError("surprise")

    queue = Queue(work, retries=5, on_give_up=lambda _k, e: given_up.append(e))
    queue.submit("a")
    await queue.drain()
    assert isinstance(given_up[0], KeyError)


async def test_a_run_under_way_gets_a_status_write_at_most_once_per_interval_and_its_end_at_once():
    owner = adhoc()
    kube, now = FakeKube(), [100.0]
    r = clocked_reconciler(kube, now)
    assert await r.reconcile(World(owner, [job(owner, active=1)], [pod(phase="Pending")], None)) is None
    assert kube.status["phase"] == "Pending"
    now[0] += 0.25
    running = World(owner, [job(owner, active=1)], [pod(phase="Running")], None)
    assert await r.reconcile(running) == pytest.approx(0.75)  # held back: the queue comes back then
    assert kube.names() == ["patch_status"]
    now[0] += 0.75
    assert await r.reconcile(running) is None
    assert kube.status["phase"] == "Running"
    now[0] += 1.0
    ready = World(owner, [job(owner, active=1, ready=1)], [pod(phase="Running")], None)
    assert await r.reconcile(ready) == pytest.approx(9.0)  # a count alone waits ten intervals
    now[0] += 0.1
    done = pod(phase="Succeeded", state=terminated(0))
    finished = World(owner, [job(owner, succeeded=1, conditions=[condition("Complete")])], [done], None)
    assert await r.reconcile(finished) is None  # the end is never held back
    assert kube.status["phase"] == "Succeeded"


async def test_a_finished_runs_status_outlives_its_pods():
    """Past 12,500 terminated pods the PodGC deletes the oldest (and users delete pods): the
    status of a run that ended keeps its exit code, pod and output (they were being dropped)."""
    owner = adhoc()
    kube = FakeKube()
    r, _ = reconciler(kube)
    done = pod(phase="Succeeded", state=terminated(0))
    complete = job(owner, succeeded=1, conditions=[condition("Complete")])
    await r.reconcile(World(owner, [complete], [done], None))
    final = kube.status
    assert final is not None and final["exitCode"] == 0 and final["podName"] == done["metadata"]["name"]
    writes = len(kube.names())
    assert kube.configmap is not None
    stored = stored_output_from(kube.configmap)
    ended = {**owner, "status": final}
    assert await r.reconcile(World(ended, [complete], [], stored)) is None  # its pod was collected
    assert len(kube.names()) == writes


async def test_a_finished_job_waits_for_its_pods_watch_to_catch_up():
    """After an API server restart the Jobs' watch may resume before the pods': a run written
    final from a stale pod would lack its exit code for good (its status is then frozen)."""
    owner = adhoc()
    now = [100.0]
    kube = FakeKube()
    r = clocked_reconciler(kube, now)
    complete = job(owner, succeeded=1, conditions=[condition("Complete")])
    wait = await r.reconcile(World(owner, [complete], [pod()], None))  # the pod as last seen: running
    assert wait is not None and 0 < wait <= 30 and kube.names() == []
    done = pod(phase="Succeeded", state=terminated(0))
    assert await r.reconcile(World(owner, [complete], [done], None)) is None
    assert kube.status is not None and kube.status["phase"] == "Succeeded" and kube.status["exitCode"] == 0


async def test_a_pod_that_never_catches_up_delays_the_final_status_only_so_long():
    owner = adhoc()
    now = [100.0]
    kube = FakeKube()
    r = clocked_reconciler(kube, now)
    complete = job(owner, succeeded=1, conditions=[condition("Complete")])
    assert await r.reconcile(World(owner, [complete], [pod()], None)) is not None
    now[0] += 31
    assert await r.reconcile(World(owner, [complete], [pod()], None)) is None
    assert kube.status is not None and kube.status["phase"] == "Succeeded"


async def test_under_load_the_interval_stretches_and_the_end_still_comes_at_once():
    owner = adhoc()
    kube, now = FakeKube(), [100.0]
    r = clocked_reconciler(kube, now)
    burst = 125  # a hundred and twenty-five runs in the queue
    assert await r.reconcile(World(owner, [job(owner, active=1)], [pod(phase="Pending")], None), burst) is None
    now[0] += 1.0
    running = World(owner, [job(owner, active=1)], [pod(phase="Running")], None)
    assert await r.reconcile(running, burst) == pytest.approx(4.0)  # five intervals instead of one
    done = pod(phase="Succeeded", state=terminated(0))
    finished = World(owner, [job(owner, succeeded=1, conditions=[condition("Complete")])], [done], None)
    assert await r.reconcile(finished, burst) is None and kube.status["phase"] == "Succeeded"
    assert kube.names().count("patch_status") == 2  # Pending, then the end: Running skipped


async def test_queue_comes_back_when_the_work_asks_and_folds_what_came_meanwhile():
    runs: list[str] = []
    answers = iter([0.05, None])

    async def work(key: str) -> float | None:
        runs.append(key)
        return next(answers)

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    queue.submit("a")
    await asyncio.sleep(0.01)
    queue.submit("a")  # while it waits: no extra run
    await queue.drain()
    assert runs == ["a", "a"]


async def test_a_reason_to_act_on_is_written_after_the_interval_a_passing_one_waits_longer():
    owner = adhoc()
    kube, now = FakeKube(), [100.0]
    r = clocked_reconciler(kube, now)
    await r.reconcile(World(owner, [job(owner, active=1)], [pod(phase="Pending")], None))
    now[0] += 2
    creating = pod(phase="Pending", state={"waiting": {"reason": "ContainerCreating"}})
    assert await r.reconcile(World(owner, [job(owner, active=1)], [creating], None)) == pytest.approx(8.0)
    pulling = pod(phase="Pending", state={"waiting": {"reason": "ImagePullBackOff", "message": "not found"}})
    assert await r.reconcile(World(owner, [job(owner, active=1)], [pulling], None)) is None
    assert kube.status["reason"] == "ImagePullBackOff"


async def test_queue_keeps_coming_back_after_the_retries_of_a_transient_error_ran_out():
    given_up: list[Exception] = []
    outcomes = iter([ApiError(0, "TimeoutError"), ApiError(503, "busy"), None])

    async def work(key: str) -> None:
        error = next(outcomes)
        if error:
            raise error

    queue = Queue(work, retries=0, on_give_up=lambda _k, e: given_up.append(e), retry_later=0.01)
    queue.submit("a")
    await queue.drain()
    assert [getattr(e, "status", None) for e in given_up] == [0, 503]  # said each time, and the third try went through
    assert next(outcomes, "spent") == "spent"


async def test_queue_runs_a_bounded_number_of_reconciliations_at_once():
    running, most = 0, 0

    async def work(key: str) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"), workers=3)
    for i in range(20):
        queue.submit(f"k{i}")
    await queue.drain()
    assert most == 3


async def test_closing_the_queue_finishes_the_work_under_way_and_drops_the_waits():
    finished: list[str] = []

    async def work(key: str) -> float | None:
        await asyncio.sleep(0.01)
        finished.append(key)
        return 3600.0  # e.g. a status held back: it would come back in an hour

    queue = Queue(work, retries=0, on_give_up=lambda *_: pytest.fail("gave up"))
    queue.submit("a")
    queue.submit("b", settle=3600.0)
    await asyncio.sleep(0)
    await asyncio.wait_for(queue.close(), timeout=5)
    assert finished == ["a"]


FINISHED_RUN = {
    "observedGeneration": 1,
    "jobName": "cmd-1",
    "phase": "Succeeded",
    "exitCode": 0,
    "reason": "Completed",
    "startTime": "2026-01-01T00:00:00Z",
    "completionTime": "2026-01-01T00:00:05Z",
    "logs": {"configMap": "cmd-logs", "bytes": 4, "storedBytes": 4, "truncated": False},
}


async def test_a_new_run_keeps_the_last_one_in_the_history_before_its_job_exists():
    kube = FakeKube()
    kube.configmap = {
        "metadata": {
            "name": "cmd-logs",
            "annotations": {"a": "1"},
            "ownerReferences": [{"uid": "uid-cmd", "controller": True}],
        },
        "data": {"output": "run 1\n"},
    }
    r, _ = reconciler(kube)
    old = [
        {"generation": g, "jobName": f"cmd-{g}", "phase": "Succeeded", "logsConfigMap": f"cmd-logs-{g}"} for g in (0,)
    ]
    owner = adhoc({"command": "echo 2", "historyLimit": 1}, generation=2, status={**FINISHED_RUN, "history": old})
    await r.reconcile(World(owner, [], [], None))
    assert kube.names() == ["get_configmap", "store_configmap", "delete_configmap", "patch_status", "create_job"]
    kept = kube.configmap
    assert kept["metadata"]["name"] == "cmd-logs-1" and kept["data"] == {"output": "run 1\n"}
    assert "orchestrator.dev/adhoccommand-uid" not in kept["metadata"]["labels"]  # its informer never sees it
    assert kube.calls[2] == ("delete_configmap", "cmd-logs-0")  # beyond historyLimit 1
    [entry] = kube.status["history"]
    assert entry == {
        "generation": 1,
        "jobName": "cmd-1",
        "phase": "Succeeded",
        "exitCode": 0,
        "reason": "Completed",
        "startTime": "2026-01-01T00:00:00Z",
        "completionTime": "2026-01-01T00:00:05Z",
        "logsConfigMap": "cmd-logs-1",
    }


async def test_the_first_run_has_no_history_to_keep():
    kube = FakeKube()
    r, _ = reconciler(kube)
    await r.reconcile(World(adhoc({"command": "true"}), [], [], None))
    assert kube.names() == ["create_job"]  # as before: no extra write for a first run


# Security: what a tenant sends is hostile until checked.


@pytest.mark.parametrize(
    "name",
    ["../../kube-system/deployments/coredns", "..", "web/../../x", "Web", "web%2Fx", "a" * 254],
)
async def test_a_from_name_that_is_no_object_name_is_refused_without_a_read(name):
    """Stored before the CRD had its pattern, or sent past it: the operator refuses it too."""
    kube = FakeKube()
    r, _ = reconciler(kube)
    await r.reconcile(World(adhoc({"command": "env", "from": {"kind": "Deployment", "name": name}}), [], [], None))
    assert "get_workload" not in kube.names() and "create_job" not in kube.names()
    assert kube.status["phase"] == "Failed" and kube.status["reason"] == "InvalidSpec"
    assert "spec.from.name" in kube.status["message"]


async def test_a_users_configmap_of_the_output_name_is_left_alone_and_the_status_says_so():
    owner = adhoc()
    done = pod(phase="Succeeded", state=terminated(0))
    finished = job(owner, succeeded=1, conditions=[condition("Complete")])
    kube = FakeKube(log=b"secret-free output\n")
    kube.foreign_configmap = True
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [finished], [done], None))
    assert kube.status["phase"] == "Succeeded" and kube.status["exitCode"] == 0
    assert kube.status["reason"] == "OutputConflict" and "cmd-logs" in kube.status["message"]
    assert "logs" not in kube.status
    assert events.count(("Warning", "OutputConflict")) == 1


async def test_history_never_copies_nor_deletes_a_configmap_it_does_not_control():
    kube = FakeKube()
    # status.logs names a ConfigMap the AdhocCommand does not control (a status edited by hand).
    kube.configmap = {"metadata": {"name": "cmd-logs", "ownerReferences": [{"uid": "other", "controller": True}]}}
    r, _ = reconciler(kube)
    owner = adhoc({"command": "echo 2"}, generation=2, status=FINISHED_RUN)
    await r.reconcile(World(owner, [], [], None))
    assert "store_configmap" not in kube.names()
    [entry] = kube.status["history"]
    assert "logsConfigMap" not in entry


async def test_the_admins_caps_bound_output_and_history():
    owner = adhoc({"command": "yes", "logs": {"maxBytes": 900000}})
    done = pod(phase="Succeeded", state=terminated(0))
    kube = FakeKube(log=b"y\n" * 100_000)
    r = Reconciler(
        kube, Config(max_log_bytes=1000, max_history=1), lambda *_: None, clock=lambda: "2026-01-01T00:00:00Z"
    )
    await r.reconcile(World(owner, [job(owner, active=1)], [done], None))
    stored = stored_output_from(kube.configmap)
    assert stored is not None and stored.stored_bytes <= 1000 and stored.truncated

    old = [{"generation": g, "jobName": f"cmd-{g}", "phase": "Succeeded"} for g in (0, -1)]
    rerun = adhoc({"command": "echo 2", "historyLimit": 100}, generation=2, status={**FINISHED_RUN, "history": old})
    kube.configmap = None
    await r.reconcile(World(rerun, [], [], None))
    assert [e["generation"] for e in kube.status["history"]] == [1]


async def test_a_missing_template_is_looked_for_less_and_less_often():
    kube = FakeKube()
    r, _ = reconciler(kube)
    waiting = adhoc({"command": "env", "from": {"kind": "Deployment", "name": "web"}})
    waits = [await r.reconcile(World(waiting, [], [], None)) for _ in range(7)]
    assert waits == [10.0, 20.0, 40.0, 80.0, 160.0, 160.0, 160.0]
    assert kube.status["reason"] == "TemplateNotFound"


@pytest.mark.parametrize("foreign", [False, True])
async def test_output_kept_in_a_secret_when_the_spec_asks_and_no_history_copy_of_it(foreign):
    owner = adhoc({"command": "migrate", "logs": {"storage": "Secret"}})
    done = pod(phase="Succeeded", state=terminated(0))
    finished = job(owner, succeeded=1, conditions=[condition("Complete")])
    kube = FakeKube(log=b"password=hunter2\n")
    kube.foreign_configmap = foreign  # a Secret of the name exists and is someone else's
    r, events = reconciler(kube)
    await r.reconcile(World(owner, [finished], [done], None))
    assert "store_configmap" not in kube.names() and kube.configmap is None
    assert kube.status["phase"] == "Succeeded"
    if foreign:
        assert kube.status["reason"] == "OutputConflict" and "Secret cmd-logs" in kube.status["message"]
        assert events.count(("Warning", "OutputConflict")) == 1 and "logs" not in kube.status
        return
    assert kube.secret["kind"] == "Secret" and kube.secret["data"] == {"output": "cGFzc3dvcmQ9aHVudGVyMgo="}
    logs = kube.status["logs"]
    assert logs == {"secret": "cmd-logs", "bytes": 17, "storedBytes": 17, "truncated": False, "sha256": logs["sha256"]}
    assert logs["sha256"] == hashlib.sha256(b"password=hunter2\n").hexdigest()
    # The next run: the Secret is replaced in place, the history keeps the record only.
    rerun = adhoc({"command": "migrate again", "logs": {"storage": "Secret"}}, generation=2, status=kube.status)
    kube.calls.clear()
    await r.reconcile(World(rerun, [], [], None))
    [entry] = kube.status["history"]
    assert entry["generation"] == 1 and "logsConfigMap" not in entry
    assert not {"get_configmap", "store_configmap"} & set(kube.names())


# Approval: a held run has no Job, keeps the last run in the history, and is told once.


async def test_a_run_awaiting_approval_keeps_the_last_run_makes_no_job_and_is_told_once():
    kube = FakeKube()
    told: list[tuple[str, str]] = []
    r, events = reconciler(kube, notify=lambda kind, _a, status, _t: told.append((kind, status["reason"])))
    spec = {"command": "./migrate", "approval": {"required": True}}
    owner = adhoc(spec, generation=2, status=FINISHED_RUN)
    owner["metadata"]["annotations"] = {"orchestrator.dev/requested-by": "alice"}
    await r.reconcile(World(owner, [], [], None))
    assert "create_job" not in kube.names()
    assert kube.status["phase"] == "Pending" and kube.status["reason"] == "AwaitingApproval"
    assert kube.status["requestedBy"] == "alice"
    assert [entry["generation"] for entry in kube.status["history"]] == [1]  # the run before, kept
    assert told == [("dev.orchestrator.run.awaiting-approval", "AwaitingApproval")]
    assert events == [("Normal", "AwaitingApproval")]
    # Seen again (a resync, an unrelated annotation): nothing new is written or told.
    again = adhoc(spec, generation=2, status=kube.status)
    again["metadata"]["annotations"] = owner["metadata"]["annotations"]
    writes = kube.names().count("patch_status")
    await r.reconcile(World(again, [], [], None))
    assert kube.names().count("patch_status") == writes and len(told) == 1
    # Approved: the run starts.
    again["metadata"]["annotations"] |= {
        "orchestrator.dev/approved-by": "bob",
        "orchestrator.dev/approved-generation": "2",
    }
    await r.reconcile(World(again, [], [], None))
    assert kube.names()[-1] == "create_job"
