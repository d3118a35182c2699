"""The operator's memory of its objects, fed by its watches (pure).

kopf's own indexes make every object's first event wait for all the others during the initial
listing, through a condition that wakes every waiter for every object: at thousands of objects
that alone takes minutes of CPU. This cache is filled by one paged LIST per kind before the
watches start, and kept current by the watch events after that.
"""

from __future__ import annotations

from typing import Any

from orchestrator.names import LABEL_UID
from orchestrator.output import StoredOutput, stored_output_from
from orchestrator.reconcile import World
from orchestrator.views import adhoc_view, job_view, pack, pod_view, unpack

Obj = dict[str, Any]
KINDS = ("adhoc", "job", "pod", "configmap")


class Cache:
    def __init__(self) -> None:
        self._adhocs: dict[str, str] = {}  # uid -> packed view
        self._children: dict[str, dict[str, dict[str, str]]] = {"job": {}, "pod": {}}  # adhoc uid -> uid -> view
        self._outputs: dict[str, StoredOutput] = {}  # adhoc uid -> what its logs ConfigMap says

    def observe(self, kind: str, body: Obj, deleted: bool = False) -> str | None:
        """Takes in one object (or its deletion); returns the uid of the AdhocCommand it concerns."""
        meta = body.get("metadata") or {}
        uid = meta.get("uid")
        if kind == "adhoc":
            if not uid:
                return None
            if deleted:
                self._forget(uid)
            else:
                self._adhocs[uid] = pack(adhoc_view(body))
            return uid
        owner = (meta.get("labels") or {}).get(LABEL_UID)
        if not owner or not uid:
            return None
        if kind == "configmap":
            stored = None if deleted else stored_output_from(body)
            if stored is None:
                self._outputs.pop(owner, None)
            else:
                self._outputs[owner] = stored
            return owner
        siblings = self._children[kind].setdefault(owner, {})
        if deleted:
            siblings.pop(uid, None)
            if not siblings:
                del self._children[kind][owner]
        else:
            siblings[uid] = pack(job_view(body) if kind == "job" else pod_view(body))
        return owner

    def world(self, uid: str) -> World:
        packed = self._adhocs.get(uid)
        return World(
            adhoc=unpack(packed) if packed is not None else None,
            jobs=[unpack(v) for v in self._children["job"].get(uid, {}).values()],
            pods=[unpack(v) for v in self._children["pod"].get(uid, {}).values()],
            stored=self._outputs.get(uid),
        )

    def uids(self) -> list[str]:
        return list(self._adhocs)

    def _forget(self, uid: str) -> None:
        self._adhocs.pop(uid, None)
        # Its Jobs, Pods and ConfigMap go with it (owner references); their deletions come too.

    def __len__(self) -> int:
        return len(self._adhocs)
