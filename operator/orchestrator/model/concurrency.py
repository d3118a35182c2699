"""One run at a time per spec.concurrencyKey and namespace (pure).

Decided from the cluster's state alone, so that a restart or a new leader decides the same: a
run may start when no other AdhocCommand of its key has a run under way (a Job of its current
generation that has not finished) and none created before it is ready to start too. Runs that
wait for something else (approval, their time) do not hold the others up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from orchestrator.model.approval import gate_of
from orchestrator.model.objects import Obj
from orchestrator.model.runs import is_cancelled, is_finished, job_generation, seconds_until
from orchestrator.model.spec import is_finished_phase


@dataclasses.dataclass(frozen=True)
class Peer:
    """Another AdhocCommand of the same key and namespace, with its Jobs."""

    adhoc: Obj
    jobs: Sequence[Obj]


def key_of(spec: Obj) -> str | None:
    value = spec.get("concurrencyKey")
    return value if isinstance(value, str) and value else None


def _order(adhoc: Obj) -> tuple[str, str]:
    """Creation order: creationTimestamp (to the second), then the name."""
    meta = adhoc.get("metadata") or {}
    return meta.get("creationTimestamp") or "", meta.get("name") or ""


def _generation(adhoc: Obj) -> int:
    return int((adhoc.get("metadata") or {}).get("generation") or 1)


def under_way(peer: Peer) -> bool:
    """Its current run has a Job that has not finished (Kueue's held Jobs included: they run
    once admitted); a run cancelled before it started has none."""
    generation = _generation(peer.adhoc)
    for job in peer.jobs:
        if job_generation(job) != generation or job["metadata"].get("deletionTimestamp"):
            continue
        stopped = is_cancelled(job) and (job.get("spec") or {}).get("suspend")
        if not is_finished(job) and not stopped:
            return True
    return False


def ready(peer: Peer, now: datetime) -> bool:
    """It would start now but for its key: no Job for its current generation, nothing else
    holding it (approval, its time), not ended without one (cancelled, rejected, invalid)."""
    adhoc, generation = peer.adhoc, _generation(peer.adhoc)
    spec, status = adhoc.get("spec") or {}, adhoc.get("status") or {}
    if any(job_generation(j) == generation for j in peer.jobs):
        return False
    if status.get("observedGeneration") == generation and is_finished_phase(status):
        return False
    return spec.get("cancel") is not True and gate_of(adhoc).open and seconds_until(spec, now) is None


def waits_for(adhoc: Obj, peers: Sequence[Peer], now: datetime) -> tuple[str, str] | None:
    """(Queued, why) while another run of the key goes first; None when this one may start."""
    key = key_of(adhoc.get("spec") or {})
    if key is None:
        return None
    mine = _order(adhoc)
    for peer in sorted(peers, key=lambda p: _order(p.adhoc)):
        name = peer.adhoc["metadata"].get("name")
        if under_way(peer):
            return "Queued", f"{name} runs (concurrencyKey {key}): this run starts after it"
        if _order(peer.adhoc) < mine and ready(peer, now):
            return "Queued", f"{name} was created first (concurrencyKey {key}): this run starts after it"
    return None
