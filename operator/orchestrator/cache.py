"""The operator's memory of its objects, fed by its watches (pure).

kopf's own indexes make every object's first event wait for all the others during the initial
listing, through a condition that wakes every waiter for every object: at thousands of objects
that alone takes minutes of CPU. This cache keeps small packed views instead, and says which
AdhocCommand an event concerns only when something it keeps changed, so that the updates that
change nothing the operator uses (a finalizer removed, a resync) cost no reconciliation.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any

from orchestrator.names import LABEL_UID
from orchestrator.output import StoredOutput, stored_output_from
from orchestrator.views import adhoc_view, job_view, pack, pod_view, unpack
from orchestrator.world import World

Obj = dict[str, Any]
KINDS = ("adhoc", "job", "pod", "configmap")


class Cache:
    def __init__(self) -> None:
        self._adhocs: dict[str, bytes] = {}  # uid -> packed view
        self._children: dict[str, dict[str, dict[str, bytes]]] = {"job": {}, "pod": {}}  # adhoc uid -> uid -> view
        self._outputs: dict[str, StoredOutput] = {}  # adhoc uid -> what its logs ConfigMap says
        self.phases: Counter[str] = Counter()  # how many AdhocCommands are in each status.phase
        # Job uid -> (event uid, message): the Job controller could not create its pod (rare).
        self._refusals: dict[str, tuple[str, str]] = {}

    def observe(self, kind: str, body: Mapping[str, Any], deleted: bool = False) -> str | None:
        """Takes in one object (or its deletion); returns the uid of the AdhocCommand it concerns
        when what the cache keeps of it changed, else None."""
        meta = body.get("metadata") or {}
        uid = meta.get("uid")
        if not uid:
            return None
        if kind == "adhoc":
            # One copy of the uid for the cache's keys and its children's owner keys.
            return self._observe_adhoc(sys.intern(uid), body, deleted)
        if kind == "refusal":
            return self._observe_refusal(uid, body, deleted)
        owner = (meta.get("labels") or {}).get(LABEL_UID)
        if not owner:
            return None
        owner = sys.intern(owner)
        if kind == "configmap":
            return self._observe_output(owner, body, deleted)
        return self._observe_child(kind, owner, uid, body, deleted)

    def _observe_adhoc(self, uid: str, body: Mapping[str, Any], deleted: bool) -> str | None:
        if deleted:
            self._forget(uid)
            return uid
        packed = pack(adhoc_view(body))
        old = self._adhocs.get(uid)
        if old == packed:
            return None
        self._adhocs[uid] = packed
        self._count(old, -1)
        self._count(packed, 1)
        return uid

    def _count(self, packed: bytes | None, change: int) -> None:
        if packed is not None:
            self.phases[(unpack(packed).get("status") or {}).get("phase") or "Pending"] += change

    def _observe_output(self, owner: str, body: Mapping[str, Any], deleted: bool) -> str | None:
        stored = None if deleted else stored_output_from(body)
        if self._outputs.get(owner) == stored:
            return None
        if stored is None:
            del self._outputs[owner]
        else:
            self._outputs[owner] = stored
        return owner

    def _observe_child(self, kind: str, owner: str, uid: str, body: Mapping[str, Any], deleted: bool) -> str | None:
        children = self._children[kind]
        siblings = children.get(owner) or {}
        if deleted:
            if siblings.pop(uid, None) is None:
                return None
            if not siblings:
                del children[owner]
            return owner
        packed = pack(job_view(body) if kind == "job" else pod_view(body))
        if siblings.get(uid) == packed:
            return None
        children.setdefault(owner, {})[uid] = packed
        return owner

    def _observe_refusal(self, uid: str, event: Mapping[str, Any], deleted: bool) -> str | None:
        """A FailedCreate event of a Job: kept under the Job's uid, told to its AdhocCommand."""
        job_uid = (event.get("involvedObject") or {}).get("uid") or ""
        if deleted:
            if self._refusals.get(job_uid, ("",))[0] != uid:
                return None
            del self._refusals[job_uid]
        else:
            refusal = (uid, str(event.get("message") or ""))
            if self._refusals.get(job_uid) == refusal:
                return None
            self._refusals[job_uid] = refusal
        return self._owner_of_job(job_uid)

    def _owner_of_job(self, job_uid: str) -> str | None:
        return next((owner for owner, jobs in self._children["job"].items() if job_uid in jobs), None)

    def retain(self, kind: str, keys: set[str], namespace: str | None = None) -> set[str]:
        """Forgets what a fresh listing no longer holds; `keys` are the listed objects' keys (see
        key_of), of one namespace when the listing was (then the others' are kept). Returns the
        uids of the AdhocCommands concerned."""

        def listed_here(owner: str | None, child: bytes | None = None) -> bool:
            if namespace is None:
                return True
            packed = self._adhocs.get(owner or "") or child
            return packed is None or unpack(packed)["metadata"].get("namespace") == namespace

        if kind == "refusal":
            refused = [
                job
                for job, (event, _) in self._refusals.items()
                if event not in keys and listed_here(self._owner_of_job(job))
            ]
            concerned = {owner for job in refused if (owner := self._owner_of_job(job))}
            for job in refused:
                del self._refusals[job]
            return concerned
        if kind == "configmap":
            gone = {owner for owner in self._outputs if owner not in keys and listed_here(owner)}
            for owner in gone:
                del self._outputs[owner]
            return gone
        concerned = set()
        children = self._children[kind]
        for owner, siblings in list(children.items()):
            for uid in [u for u, view in siblings.items() if u not in keys and listed_here(owner, view)]:
                del siblings[uid]
                concerned.add(owner)
            if not siblings:
                del children[owner]
        return concerned

    @staticmethod
    def key_of(kind: str, body: Obj) -> str:
        """What retain() knows an object by: its uid, or for a ConfigMap its AdhocCommand's uid."""
        meta = body.get("metadata") or {}
        if kind == "configmap":
            return (meta.get("labels") or {}).get(LABEL_UID, "")
        return meta.get("uid", "")

    def world(self, uid: str) -> World:
        packed = self._adhocs.get(uid)
        return World(
            adhoc=unpack(packed) if packed is not None else None,
            jobs=[unpack(v) for v in self._children["job"].get(uid, {}).values()],
            pods=[unpack(v) for v in self._children["pod"].get(uid, {}).values()],
            stored=self._outputs.get(uid),
            refusals={
                job: self._refusals[job][1] for job in self._children["job"].get(uid, {}) if job in self._refusals
            },
        )

    def uids(self) -> list[str]:
        return list(self._adhocs)

    def _forget(self, uid: str) -> None:
        self._count(self._adhocs.pop(uid, None), -1)
        # Its Jobs, Pods and ConfigMap go with it (owner references); their deletions come too.

    def __len__(self) -> int:
        return len(self._adhocs)
