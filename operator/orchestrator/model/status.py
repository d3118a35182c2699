"""Computes an AdhocCommand's whole status from its run's Job, Pods and stored output (pure).

Nothing is carried over from the old status except a condition's lastTransitionTime while its
status has not changed, as Kubernetes' own meta.SetStatusCondition does.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from orchestrator.model.approval import gate_of, run_people
from orchestrator.model.jobs import LABEL_KUEUE_QUEUE
from orchestrator.model.objects import Obj, parse_time
from orchestrator.model.output import StoredOutput
from orchestrator.model.runs import is_cancelled, is_finished, job_generation
from orchestrator.model.spec import CONTAINER

MIRRORED_CONDITIONS = ("Complete", "Failed", "Suspended", "FailureTarget", "SuccessCriteriaMet")
MESSAGE_LIMIT = 1024
RESULT_LIMIT = 4096  # the kubelet's own limit on a termination message
POD_ENDED_PHASES = ("Succeeded", "Failed")  # a Pod's phases, not a run's
_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")


def _reason(text: str | None, fallback: str) -> str:
    """A condition reason that metav1.Condition's validation accepts."""
    if text and _REASON.match(text) and len(text) <= 1024:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_,:]", "", text or "")
    return cleaned if cleaned and _REASON.match(cleaned) else fallback


def _message(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def format_duration(seconds: float) -> str:
    """Like kubectl's durations: 45s, 3m12s, 2h5m, 3d4h."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60}s" if s % 60 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60}m" if (s % 3600) // 60 else f"{s // 3600}h"
    return f"{s // 86400}d{(s % 86400) // 3600}h" if (s % 86400) // 3600 else f"{s // 86400}d"


def sorted_pods(pods: list[Obj]) -> list[Obj]:
    """Pods in the order they were created: the last one is the latest attempt."""
    return sorted(
        pods,
        key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"].get("name") or ""),
    )


def container_status(pod: Obj) -> Obj:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == CONTAINER:
            return cs
    return {}


def terminated_state(pod: Obj) -> Obj | None:
    cs = container_status(pod)
    return (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated")


def is_terminated(pod: Obj) -> bool:
    """The pod's command has ended (its output is complete)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in POD_ENDED_PHASES or terminated_state(pod) is not None


def _waiting(pod: Obj) -> tuple[str, str] | None:
    """Why a pod waits: a waiting container reason or an unschedulable pod."""
    cs = container_status(pod)
    waiting = (cs.get("state") or {}).get("waiting")
    if waiting and waiting.get("reason"):
        return waiting["reason"], waiting.get("message") or ""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("reason") or "Unschedulable", cond.get("message") or ""
    return None


def _condition(type_: str, status: bool, reason: str, message: str, when: str, generation: int) -> Obj:
    return {
        "type": type_,
        "status": "True" if status else "False",
        "reason": _reason(reason, type_),
        "message": _message(message),
        "lastTransitionTime": when,
        "observedGeneration": generation,
    }


def status_from(
    adhoc: Obj,
    job: Obj | None,
    pods: list[Obj],
    stored: StoredOutput | None,
    now: str,
    error: tuple[str, str] | None = None,
    refusal: str | None = None,
    waiting: tuple[str, str] | None = None,
) -> Obj:
    """The AdhocCommand's status for its current run.

    `job` is the current run's Job (None while it is being created), `pods` its Pods,
    `stored` the output kept in the logs ConfigMap, `error` a (reason, message) when the run
    could not be started at all, `refusal` why the Job controller could not create its pod.
    """
    generation = int(adhoc["metadata"].get("generation") or 1)
    if error is not None:
        return _with_people(_not_started(error, now, generation), adhoc, None, now)
    job = job or {}
    job_conditions = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or []}
    status: Obj = {"observedGeneration": generation, **_mirrored(job)}
    image = job_image(job)
    if image:
        status["image"] = image
    ordered = sorted_pods(pods)
    latest = ordered[-1] if ordered else None
    term = terminated_state(latest) if latest is not None else None
    if latest is not None:
        status["podName"] = latest["metadata"]["name"]
        image_id = container_status(latest).get("imageID")
        if image_id:
            status["imageID"] = image_id  # the digest that ran, not the tag asked for
        status["attempt"] = len(ordered)
        if term is not None and term.get("exitCode") is not None:
            status["exitCode"] = int(term["exitCode"])
        if term is not None and term.get("message"):
            status["result"] = term["message"][:RESULT_LIMIT]  # what it wrote to /dev/termination-log

    run = _run_state(job, job_conditions, latest, term, status["active"], now, refusal, waiting, _kueue(adhoc, job))
    status["phase"] = run.phase
    if run.reason:
        status["reason"] = _reason(run.reason, "Error")
    if run.message:
        status["message"] = _message(run.message)
    if run.finished and status.get("startTime"):
        status["duration"] = format_duration((parse_time(run.ended) - parse_time(status["startTime"])).total_seconds())
    if stored is not None and _is_this_runs(stored, job, ordered):
        status["logs"] = stored.status()
        if stored.attempt:
            status["attempt"] = max(status.get("attempt", 0), stored.attempt)
    status["conditions"] = _conditions(job, job_conditions, run, status.get("reason") or run.phase, now, generation)
    return _with_people(status, adhoc, job or None, now)


def _with_people(status: Obj, adhoc: Obj, job: Obj | None, now: str) -> Obj:
    """Who asked for the run and who approved it (from its Job once it exists: what was so when
    it started), and the Approved condition of a run that needs approval."""
    gate = gate_of(adhoc)
    people = run_people(job) if job is not None else {}
    if job is None and gate.requested_by:
        people["requestedBy"] = gate.requested_by
    status.update(people)
    if gate.required or "approvedBy" in people:
        approver = people.get("approvedBy")
        if approver:
            reason, message = "Approved", f"approved by {approver}"
        else:
            reason, message = gate.rejection() or gate.waiting() or ("AwaitingApproval", "")
        generation = status["observedGeneration"]
        status["conditions"].append(_condition("Approved", bool(approver), reason, message, now, generation))
    return status


def _is_this_runs(stored: StoredOutput, job: Obj, pods: list[Obj]) -> bool:
    """The stored output is the current run's: one of its pods' or, once its pods are gone (a
    cancelled run's, deleted by the Job controller), its generation's."""
    if pods:
        return stored.pod_uid in {p["metadata"]["uid"] for p in pods}
    return bool(job) and stored.generation == job_generation(job) and stored.pod_uid != ""


def _kueue(adhoc: Obj, job: Obj) -> tuple[str, str] | None:
    """Why a Job Kueue holds (suspended, and not by the user) waits: in its LocalQueue."""
    queue = (job.get("metadata") or {}).get("labels", {}).get(LABEL_KUEUE_QUEUE)
    if queue and (job.get("spec") or {}).get("suspend") and not (adhoc.get("spec") or {}).get("suspend"):
        return "Queued", f"waiting for Kueue to admit it (LocalQueue {queue})"
    return None


def _not_started(error: tuple[str, str], now: str, generation: int) -> Obj:
    """The status of a run that could not start at all (InvalidSpec, JobRejected, ...)."""
    reason, message = error
    return {
        "observedGeneration": generation,
        "phase": "Failed",
        "reason": _reason(reason, "Error"),
        "message": _message(message),
        "conditions": [
            _condition("Failed", True, reason, message, now, generation),
            _condition("Finished", True, reason, message, now, generation),
            _condition("Reconciling", False, reason, message, now, generation),
            _condition("Stalled", True, reason, message, now, generation),
        ],
    }


def job_image(job: Obj) -> str | None:
    """The image the run's command container uses (after defaults)."""
    pod_spec = (((job.get("spec") or {}).get("template") or {}).get("spec")) or {}
    containers = [c for c in pod_spec.get("containers") or [] if c.get("name") == CONTAINER]
    return containers[0].get("image") if containers else None


def _mirrored(job: Obj) -> Obj:
    """The Job's name, counts and times, as the status mirrors them."""
    job_status = job.get("status") or {}
    out: Obj = {}
    if (job.get("metadata") or {}).get("name"):
        out["jobName"] = job["metadata"]["name"]
    for count in ("active", "ready", "succeeded", "failed"):
        out[count] = int(job_status.get(count) or 0)
    for field in ("startTime", "completionTime"):
        if job_status.get(field):
            out[field] = job_status[field]
    return out


@dataclasses.dataclass(frozen=True)
class _Run:
    phase: str
    reason: str
    message: str
    finished: Obj | None  # the Job's Complete or Failed condition, once it ended
    failed: bool
    started: str  # when the Job was created
    ended: str  # when it finished (or now)


def _run_state(
    job: Obj,
    conditions: dict[Any, Obj],
    latest: Obj | None,
    term: Obj | None,
    active: int,
    now: str,
    refusal: str | None = None,
    why_waiting: tuple[str, str] | None = None,
    queued: tuple[str, str] | None = None,
) -> _Run:
    """Phase, reason and message of the run, from the Job's conditions and its latest pod."""

    def true(type_: str) -> Obj | None:
        cond = conditions.get(type_)
        return cond if cond and cond.get("status") == "True" else None

    job_meta = job.get("metadata") or {}
    complete, failed = true("Complete"), true("Failed")
    finished = complete or failed
    started = job_meta.get("creationTimestamp") or now
    ended = (finished or {}).get("lastTransitionTime") or (job.get("status") or {}).get("completionTime") or now
    if is_cancelled(job) and not complete:
        return _cancelled(job, failed, started, ended, now)
    if finished:
        reason, message = _ending(failed, term)
        return _Run("Succeeded" if complete else "Failed", reason, message, finished, bool(failed), started, ended)
    if queued is not None:
        return _Run("Pending", *queued, None, False, started, ended)
    if (job.get("spec") or {}).get("suspend"):
        message = (true("Suspended") or {}).get("message") or "the run's Job is suspended"
        return _Run("Suspended", "Suspended", message, None, False, started, ended)
    ending = true("FailureTarget") or true("SuccessCriteriaMet")
    if ending:  # the Job's end is decided; it waits for its pods to be gone (a lost node's, too)
        reason, message = _ending_soon(ending, latest)
        return _Run("Running", reason, message, None, False, started, ended)
    disrupted = _disruption(latest)
    if disrupted is not None and not is_terminated(latest or {}):
        reason, why = disrupted
        message = f"{why}; a new pod takes over once it is gone (a disruption does not count against retries)"
        return _Run("Running", reason, message.lstrip("; "), None, False, started, ended)
    waiting = _waiting(latest) if latest is not None else None
    pod_phase = ((latest or {}).get("status") or {}).get("phase")
    if pod_phase == "Running" and active > 0 and waiting is None:
        return _Run("Running", "", "", None, False, started, ended)
    if waiting is not None:
        return _Run("Pending", *waiting, None, False, started, ended)
    if latest is None and refusal:  # e.g. Pod Security admission refused the pod
        return _Run("Pending", "FailedCreate", refusal, None, False, started, ended)
    if not job_meta:
        reason, message = why_waiting or ("Creating", "the run's Job is being created")
        return _Run("Pending", reason, message, None, False, started, ended)
    return _Run("Pending", "", "", None, False, started, ended)


CANCELLED = "cancelled (spec.cancel): what it printed until then is kept"


def _cancelled(job: Obj, failed: Obj | None, started: str, ended: str, now: str) -> _Run:
    """A cancelled run: Failed (Cancelled) once its Job failed on the deadline the cancel set, or
    at once when it never started; until then stopping (Running, Cancelling)."""
    if failed:
        return _Run("Failed", "Cancelled", CANCELLED, failed, True, started, ended)
    if (job.get("spec") or {}).get("suspend"):
        never = "cancelled before it started"
        return _Run("Failed", "Cancelled", never, {"lastTransitionTime": now}, True, started, now)
    return _Run("Running", "Cancelling", "stopping its pod (spec.cancel)", None, False, started, ended)


def _disruption(pod: Obj | None) -> tuple[str, str] | None:
    """(reason, message) of the pod's DisruptionTarget condition, when it is being taken away
    (DeletionByTaintManager: its node was lost, an eviction, a preemption)."""
    pod_conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    disruption = next((c for c in pod_conditions if c.get("type") == "DisruptionTarget"), None)
    if not disruption or disruption.get("status") != "True":
        return None
    return _reason(disruption.get("reason"), "DisruptionTarget"), _message(disruption.get("message"))


def _ending_soon(target: Obj, latest: Obj | None) -> tuple[str, str]:
    """Why a Job that will end has not yet: its pod is being removed, its DisruptionTarget
    saying why."""
    the_end = f"the Job ends ({target.get('reason') or target.get('type')}) once its pod is gone"
    disrupted = _disruption(latest)
    if disrupted is not None:
        reason, why = disrupted
        return reason, (f"{why}; {the_end}" if why else the_end)
    return _reason(target.get("reason"), "Terminating"), the_end


def _ending(failed: Obj | None, term: Obj | None) -> tuple[str, str]:
    """Why a finished run ended: the deadline, the container's own end, or the Job's word."""
    if failed and failed.get("reason") == "DeadlineExceeded":
        return "DeadlineExceeded", failed.get("message") or ""
    if term is not None:
        exit_code = term.get("exitCode") or 0
        return (
            term.get("reason") or ("Completed" if exit_code == 0 else "Error"),
            term.get("message") or (failed or {}).get("message") or "",
        )
    if failed:
        return failed.get("reason") or "Failed", failed.get("message") or ""
    return "Completed", ""


def _conditions(
    job: Obj, job_conditions: dict[Any, Obj], run: _Run, run_reason: str, now: str, generation: int
) -> list[Obj]:
    """The Job's conditions mirrored, then Finished, Reconciling and Stalled (kstatus)."""
    conditions = []
    for type_ in MIRRORED_CONDITIONS:
        cond = job_conditions.get(type_)
        if cond:
            conditions.append(
                _condition(
                    type_,
                    cond.get("status") == "True",
                    cond.get("reason") or type_,
                    cond.get("message") or "",
                    cond.get("lastTransitionTime") or now,
                    generation,
                )
            )
    phase, message = run.phase, run.message
    t_start, t_end = run.started, run.ended
    t_resumed = (job_conditions.get("Suspended") or {}).get("lastTransitionTime") or t_start
    if run.finished:
        conditions.append(_condition("Finished", True, run_reason, message, t_end, generation))
        conditions.append(_condition("Reconciling", False, phase, "", t_end, generation))
        conditions.append(
            _condition(
                "Stalled",
                run.failed,
                run_reason if run.failed else phase,
                message if run.failed else "",
                t_end,
                generation,
            )
        )
    elif phase == "Suspended":
        conditions.append(_condition("Finished", False, phase, "", t_start, generation))
        conditions.append(_condition("Reconciling", False, phase, message, t_resumed, generation))
        conditions.append(_condition("Stalled", False, phase, "", t_start, generation))
    else:
        conditions.append(_condition("Finished", False, phase, "", t_start, generation))
        conditions.append(_condition("Reconciling", True, run_reason, message, t_resumed, generation))
        conditions.append(_condition("Stalled", False, phase, "", t_start, generation))
    return conditions


def settling(job: Obj | None, pods: list[Obj]) -> bool:
    """The latest pod has ended and its Job has not counted it yet.

    The Job controller is bound to update the Job next (finished, or another attempt), and that
    update brings a final status; a status written in between would be stale at once.
    """
    if not job or not pods or is_finished(job):
        return False
    return is_terminated(sorted_pods(pods)[-1])


def pod_behind(job: Obj | None, pods: list[Obj]) -> bool:
    """The Job says its run ended, yet its latest pod as last seen still runs and is not being
    deleted: the pods' watch is behind the Jobs' (after an API server restart the two resume
    apart). The pod's next update brings its exit code; a final status written now would lack
    it for good."""
    if not job or not pods or not is_finished(job):
        return False
    latest = sorted_pods(pods)[-1]
    return not is_terminated(latest) and not latest["metadata"].get("deletionTimestamp")


def keep_transition_times(new: Obj, old: Obj | None) -> Obj:
    """Keeps a condition's old lastTransitionTime while its status has not changed."""
    previous = {c.get("type"): c for c in (old or {}).get("conditions") or [] if isinstance(c, dict)}
    for cond in new.get("conditions") or []:
        before = previous.get(cond["type"])
        if before and before.get("status") == cond["status"] and before.get("lastTransitionTime"):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
    return new


def merge_patch(new: Obj, old: Obj | None) -> Obj | None:
    """A JSON merge patch that turns `old` into `new`, or None when they are equal."""
    old = old or {}
    if new == {k: v for k, v in old.items()}:
        return None
    patch: Obj = dict(new)
    for key in old:
        if key not in new:
            patch[key] = None
    return patch
