"""Finished runs made directly, the operator stopped: the populations of make bench-scale.

Each run is what the operator leaves behind a command that printed and succeeded, built with its
own builders: the AdhocCommand with its final status (model/status.status_from), its Job
(model/jobs.job_for, complete) and its logs ConfigMap (model/output.configmap_for). The Job
carries `spec.managedBy`, so the Job controller leaves it alone instead of starting its pod; its
pod is not made (the PodGC deletes finished pods past 12,500 anyway, and the reconciler never
reads the pods of a run whose status says it ended). Five writes a run, against about thirty
when a run goes through the operator and the Job controller: 100,000 in minutes, not hours.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

from orchestrator.kube.client import Kube
from orchestrator.model.config import Config
from orchestrator.model.jobs import job_for
from orchestrator.model.objects import Obj, timestamp
from orchestrator.model.output import configmap_for, stored_output_from
from orchestrator.model.paths import ADHOCS, CONFIGMAPS, JOBS, path
from orchestrator.model.spec import CONTAINER
from orchestrator.model.status import status_from

MANAGED_BY = "orchestrator.dev/bench-population"  # any other controller than the Job controller's
OUTPUT = b"bench\n"
MERGE = "application/merge-patch+json"


def finished_job(job: Obj, started: str, ended: str) -> Obj:
    """The status the Job controller writes when the Job's one pod succeeded."""
    condition = {"status": "True", "lastProbeTime": ended, "lastTransitionTime": ended}
    condition |= {"reason": "CompletionsReached", "message": "Reached expected number of succeeded pods"}
    return {
        "startTime": started,
        "completionTime": ended,
        "succeeded": 1,
        "active": 0,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "conditions": [{**condition, "type": "SuccessCriteriaMet"}, {**condition, "type": "Complete"}],
    }


def succeeded_pod(job: Obj, image: str, started: str, ended: str) -> Obj:
    """The pod that ran the command, as the status and the logs ConfigMap name it (never created)."""
    terminated = {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": ended}
    return {
        "metadata": {"name": f"{job['metadata']['name']}-pop00", "uid": str(uuid.uuid4())},
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [
                {"name": CONTAINER, "state": {"terminated": terminated}, "lastState": {}, "image": image}
            ],
        },
    }


async def make_run(kube: Kube, adhoc: Obj, config: Config) -> None:
    """Creates one finished run of `adhoc` (a new AdhocCommand in its namespace)."""
    namespace = adhoc["metadata"]["namespace"]
    created = await kube.call("POST", path(*ADHOCS, namespace), adhoc)
    job = job_for(created, config)
    job["spec"]["managedBy"] = MANAGED_BY
    job = await kube.call("POST", path(*JOBS, namespace), job)
    started = created["metadata"]["creationTimestamp"]
    ended = timestamp()
    job = await kube.call(
        "PATCH",
        path(*JOBS, namespace, job["metadata"]["name"], "status"),
        {"status": finished_job(job, started, ended)},
        content_type=MERGE,
    )
    pod = succeeded_pod(job, config.image, started, ended)
    configmap = configmap_for(created, pod, 1, 1, OUTPUT, len(OUTPUT), False)
    stored = stored_output_from(await kube.call("POST", path(*CONFIGMAPS, namespace), configmap))
    status = status_from(created, job, [pod], stored, ended)
    name = created["metadata"]["name"]
    await kube.call("PATCH", path(*ADHOCS, namespace, name, "status"), {"status": status}, content_type=MERGE)


async def make_runs(
    kube: Kube, namespace: str, bodies: list[Obj], config: Config, concurrency: int = 32, report: Any = None
) -> None:
    """Makes a finished run of each AdhocCommand body in `namespace`, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(body: Obj) -> None:
        nonlocal done
        async with gate:
            await make_run(kube, {**body, "metadata": {**body["metadata"], "namespace": namespace}}, config)
        done += 1
        if report is not None and done % 5000 == 0:
            report(done)

    await asyncio.gather(*(one(b) for b in bodies))


# What a snapshot's objects are made from: when one of these changes, its populations are made again.
SOURCES = (
    "bench/population.py",
    "crds/adhoccommands.orchestrator.dev.yaml",
    "operator/orchestrator/model/jobs.py",
    "operator/orchestrator/model/names.py",
    "operator/orchestrator/model/output.py",
    "operator/orchestrator/model/status.py",
    "hack/versions.sh",
)


def digest_of(sources: dict[str, bytes]) -> str:
    """A digest of what a snapshot's objects are made from (file name -> content)."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name] + b"\0")
    return digest.hexdigest()[:12]


def snapshot_name(population: int, digest: str) -> str:
    return f"population-{population}-{digest}.tar"


def kept_populations(names: list[str], digest: str) -> list[int]:
    """The populations whose snapshots of this digest are among the file `names`."""
    kept = []
    for name in names:
        size, _, rest = name.removeprefix("population-").partition("-")
        if name.startswith("population-") and rest == f"{digest}.tar" and size.isdigit():
            kept.append(int(size))
    return sorted(kept)


def starting_point(population: int, kept: list[int]) -> int:
    """The largest population already kept that a new one can grow from (0: none)."""
    return max((p for p in kept if p < population), default=0)
