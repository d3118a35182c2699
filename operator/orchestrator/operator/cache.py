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

from orchestrator.model.concurrency import Peer, key_of
from orchestrator.model.names import LABEL_UID, controller_of
from orchestrator.model.objects import Obj
from orchestrator.model.output import StoredOutput, stored_output_from
from orchestrator.model.pacing import ended, settled
from orchestrator.model.views import adhoc_view, job_view, pack, pod_view, record, unpack
from orchestrator.operator.siblings import Siblings
from orchestrator.operator.world import World

KINDS = ("adhoc", "job", "pod", "configmap")


def _key(namespace: str, owner: str) -> str:
    """Children are filed by their namespace and their AdhocCommand's uid: a Job or ConfigMap in
    another namespace that carries a victim's uid label is never taken for the victim's. One copy
    of each key for a run's Job, Pod and output (about 100 bytes each at 100,000 runs)."""
    return sys.intern(f"{namespace}/{owner}")


def _owner(key: str) -> str:
    return key.partition("/")[2]


def _packed(stored: StoredOutput | None) -> bytes | None:
    """A stored output as kept until its run seals: packed, as the views are (a StoredOutput
    object and its strings take about 550 bytes, packed about 150; a start lists the ConfigMaps of
    every run before their AdhocCommands, and that peak is what the process keeps)."""
    return None if stored is None else pack(vars(stored))  # its fields (asdict would copy each)


def _stored(packed: bytes | None) -> StoredOutput | None:
    return None if packed is None else StoredOutput(**unpack(packed))


def _is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def run_ended(adhoc: Obj, jobs: Mapping[str, bytes]) -> bool:
    """Whether the AdhocCommand's status already says its run's end (model/pacing.ended) of one
    of its `jobs` (packed views): the reconciler then never reads that run's pods again, so they
    are not kept (a finished run then costs its AdhocCommand and Job only)."""
    status = adhoc.get("status") or {}
    if not isinstance(status, dict) or not status.get("jobName"):
        return False
    generation = int(adhoc["metadata"].get("generation") or 1)
    return any(ended(status, generation, unpack(j)) for j in jobs.values())


class KeyIndex:
    """Which AdhocCommands share a concurrencyKey in a namespace."""

    def __init__(self) -> None:
        self._keys: dict[str, set[str]] = {}  # namespace/concurrencyKey -> uids that name it
        self._key_of: dict[str, str] = {}  # uid -> namespace/concurrencyKey

    def file(self, uid: str, view: Obj | None) -> None:
        """Files the AdhocCommand under its key (view None: takes it out)."""
        old = self._key_of.pop(uid, None)
        if old is not None:
            self._keys[old].discard(uid)
            if not self._keys[old]:
                del self._keys[old]
        key = key_of((view or {}).get("spec") or {}) if isinstance((view or {}).get("spec"), dict) else None
        if view is not None and key is not None:
            filed = _key(view["metadata"].get("namespace", ""), key)
            self._key_of[uid] = filed
            self._keys.setdefault(filed, set()).add(uid)

    def peers_of(self, uid: str) -> list[str]:
        filed = self._key_of.get(uid)
        return [u for u in self._keys.get(filed, ()) if u != uid] if filed else []


class Cache:
    def __init__(self) -> None:
        self._adhocs: dict[str, bytes] = {}  # uid -> packed view
        # namespace/adhoc uid -> uid -> view
        self._children: dict[str, dict[str, Siblings]] = {"job": {}, "pod": {}}
        self._outputs: dict[str, bytes] = {}  # namespace/adhoc uid -> what its logs ConfigMap says, packed
        self.phases: Counter[str] = Counter()  # how many AdhocCommands are in each status.phase
        self._concurrency = KeyIndex()
        # uid -> a finished run (its status says its end: run_ended) packed as one record: its
        # AdhocCommand's and Jobs' views and its stored output together, in about a third of the
        # memory of the three kept apart. Opened again when one of them changes.
        self._sealed: dict[str, bytes] = {}
        # The sealed runs with something still due (model/pacing.settled: a TTL to set, an older
        # Job to delete): few, so the set of the others, nearly all, costs no memory.
        self._unsettled: set[str] = set()

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
        owner = (meta.get("labels") or {}).get(LABEL_UID)
        if not owner or not meta.get("namespace"):
            return None
        # A label anyone may set: a Job or ConfigMap counts only when the AdhocCommand controls it
        # (its pods are checked against their Job's uid when a run is reconciled).
        if kind != "pod" and controller_of(body) != owner:
            return None
        owner = sys.intern(owner)
        key = _key(meta["namespace"], owner)
        if kind == "pod":
            return owner if self._observe_child(kind, key, uid, body, deleted) else None
        opened = self._open(owner)  # a finished run's Job or output changes (or is listed again)
        changed = (
            self._observe_output(key, body, deleted)
            if kind == "configmap"
            else self._observe_child(kind, key, uid, body, deleted)
        )
        if changed or opened:
            self._seal_if_ended(owner)
        return owner if changed else None

    def _observe_adhoc(self, uid: str, body: Mapping[str, Any], deleted: bool) -> str | None:
        if deleted:
            self._forget(uid)
            return uid
        view = adhoc_view(body)
        sealed = self._sealed.get(uid)
        if sealed is not None:
            if unpack(sealed)["adhoc"] == view:
                return None
            self._open(uid)
        old = self._adhocs.get(uid)
        old_view = unpack(old) if old is not None else None
        if old_view == view:
            return None
        self._concurrency.file(uid, view)
        self._count(old_view, -1)
        self._count(view, 1)
        if self._has_ended(uid, view):
            self._seal(uid, view)  # packed once, as its record (a restart lists thousands so)
        else:
            self._adhocs[uid] = pack(view)
        return uid

    def _has_ended(self, uid: str, adhoc: Obj | None = None) -> bool:
        if uid in self._sealed:
            return True
        if adhoc is None:
            packed = self._adhocs.get(uid)
            if packed is None:
                return False
            adhoc = unpack(packed)
        return run_ended(adhoc, self._children["job"].get(_key(adhoc["metadata"].get("namespace", ""), uid), {}))

    def _count(self, adhoc: Obj | None, change: int) -> None:
        if adhoc is not None:
            self.phases[(adhoc.get("status") or {}).get("phase") or "Pending"] += change

    # Finished runs, sealed

    def _seal_if_ended(self, uid: str) -> None:
        packed = self._adhocs.get(uid)
        if packed is not None and self._has_ended(uid, adhoc := unpack(packed)):
            self._seal(uid, adhoc)

    def _seal(self, uid: str, adhoc: Obj) -> None:
        """Keeps an ended run (its pods are no longer kept) as one packed record."""
        key = _key(adhoc["metadata"].get("namespace", ""), uid)
        jobs: Mapping[str, bytes] = self._children["job"].pop(key, {})
        stored = self._outputs.pop(key, None)
        self._children["pod"].pop(key, None)
        self._adhocs.pop(uid, None)
        stored_fields = unpack(stored) if stored is not None else None
        views = [unpack(j) for j in jobs.values()]
        self._sealed[uid] = pack(record(adhoc, views, stored_fields), level=6)
        if not settled(adhoc, views):
            self._unsettled.add(uid)

    def _open(self, uid: str) -> bool:
        """A sealed run back in the working indexes, for a change to one of its objects."""
        sealed = self._sealed.pop(uid, None)
        if sealed is None:
            return False
        self._unsettled.discard(uid)
        adhoc, jobs, stored = self._unsealed(sealed)
        key = _key(adhoc["metadata"].get("namespace", ""), uid)
        self._adhocs[uid] = pack(adhoc)
        if jobs:
            self._children["job"][key] = Siblings({j["metadata"]["uid"]: pack(j) for j in jobs})
        if (packed := _packed(stored)) is not None:
            self._outputs[key] = packed
        return True

    @staticmethod
    def _unsealed(sealed: bytes) -> tuple[Obj, list[Obj], StoredOutput | None]:
        kept = unpack(sealed)
        stored = StoredOutput(**kept["stored"]) if kept.get("stored") else None
        return kept["adhoc"], kept["jobs"], stored

    def _parts(self, uid: str) -> tuple[Obj, list[Obj], StoredOutput | None] | None:
        """An AdhocCommand's view, its Jobs' views and its stored output, sealed or not."""
        sealed = self._sealed.get(uid)
        if sealed is not None:
            return self._unsealed(sealed)
        packed = self._adhocs.get(uid)
        if packed is None:
            return None
        adhoc = unpack(packed)
        key = _key(adhoc["metadata"].get("namespace", ""), uid)
        return adhoc, [unpack(v) for v in self._children["job"].get(key, {}).values()], _stored(self._outputs.get(key))

    def _observe_output(self, key: str, body: Mapping[str, Any], deleted: bool) -> bool:
        stored = None if deleted else _packed(stored_output_from(body))
        if self._outputs.get(key) == stored:
            return False
        if stored is None:
            del self._outputs[key]
        else:
            self._outputs[key] = stored
        return True

    def _observe_child(self, kind: str, key: str, uid: str, body: Mapping[str, Any], deleted: bool) -> bool:
        children = self._children[kind]
        siblings = children.get(key) or Siblings()
        if deleted:
            if siblings.pop(uid, None) is None:
                return False
            if not siblings:
                del children[key]
            return True
        if kind == "pod" and _is_terminal(body) and self._has_ended(_owner(key)):
            # A finished pod of a run whose end is written (its status refreshed, or listed at a
            # restart): nothing will read it.
            if siblings.pop(uid, None) is not None and not siblings:
                del children[key]
            return False
        packed = pack(job_view(body) if kind == "job" else pod_view(body))
        if siblings.get(uid) == packed:
            return False
        if key not in children:
            children[key] = Siblings()
        children[key][uid] = packed
        return True

    def retain(self, kind: str, keys: set[str], namespace: str | None = None) -> set[str]:
        """Forgets what a fresh listing no longer holds; `keys` are the listed objects' keys (see
        key_of), of one namespace when the listing was (then the others' are kept). Returns the
        uids of the AdhocCommands concerned."""

        def listed_here(key: str) -> bool:
            return namespace is None or key.startswith(f"{namespace}/")

        if kind in ("job", "configmap"):
            self._open_unlisted(kind, keys, listed_here)
        if kind == "configmap":
            gone = {key for key in self._outputs if key not in keys and listed_here(key)}
            for key in gone:
                del self._outputs[key]
            return {_owner(key) for key in gone}
        concerned = set()
        children = self._children[kind]
        for key, siblings in list(children.items()):
            if not listed_here(key):
                continue
            for uid in [u for u in siblings if u not in keys]:
                del siblings[uid]
                concerned.add(_owner(key))
            if not siblings:
                del children[key]
        return concerned

    def _open_unlisted(self, kind: str, keys: set[str], listed_here: Any) -> None:
        """Opens the sealed runs a fresh listing of their Jobs or ConfigMaps no longer holds
        (rare: a watch that fell too far behind), so that retain() forgets those as for any run."""
        for uid, sealed in list(self._sealed.items()):
            adhoc, jobs, stored = self._unsealed(sealed)
            key = _key(adhoc["metadata"].get("namespace", ""), uid)
            if not listed_here(key):
                continue
            if kind == "job" and any(j["metadata"]["uid"] not in keys for j in jobs):
                self._open(uid)
            elif kind == "configmap" and stored is not None and key not in keys:
                self._open(uid)

    @staticmethod
    def key_of(kind: str, body: Obj) -> str:
        """What retain() knows an object by: its uid, or for a ConfigMap its namespace and its
        AdhocCommand's uid."""
        meta = body.get("metadata") or {}
        if kind == "configmap":
            return _key(meta.get("namespace", ""), (meta.get("labels") or {}).get(LABEL_UID, ""))
        return meta.get("uid", "")

    def world(self, uid: str) -> World:
        parts = self._parts(uid)
        if parts is None:
            return World(adhoc=None, jobs=[], pods=[], stored=None)
        adhoc, jobs, stored = parts
        namespace = adhoc["metadata"].get("namespace", "")
        key = _key(namespace, uid)
        return World(
            adhoc=adhoc,
            jobs=jobs,
            pods=[unpack(v) for v in self._children["pod"].get(key, {}).values()],
            stored=stored,
            peers=self._peers(uid),
        )

    def settled(self, uid: str) -> bool:
        """Whether the run ended with nothing due about it (model/pacing.settled), as sealed."""
        return uid in self._sealed and uid not in self._unsettled

    def uids(self) -> list[str]:
        return [*self._adhocs, *self._sealed]

    def peers_of(self, uid: str) -> list[str]:
        """The other AdhocCommands of its concurrencyKey and namespace."""
        return self._concurrency.peers_of(uid)

    def _peers(self, uid: str) -> list[Peer]:
        peers = []
        for other in self.peers_of(uid):
            parts = self._parts(other)
            if parts is not None:
                peers.append(Peer(parts[0], parts[1]))
        return peers

    def _forget(self, uid: str) -> None:
        self._concurrency.file(uid, None)
        self._open(uid)
        old = self._adhocs.pop(uid, None)
        self._count(unpack(old) if old is not None else None, -1)
        # Its Jobs, Pods and ConfigMap go with it (owner references); their deletions come too.

    def __len__(self) -> int:
        return len(self._adhocs) + len(self._sealed)

    @property
    def sealed(self) -> int:
        """How many finished runs are kept sealed."""
        return len(self._sealed)

    @property
    def under_way(self) -> int:
        """How many runs have pods the cache keeps: those running (a run's pods go as it ends).
        Anyone may label a pod with a run's uid: no more are counted than there are unfinished
        AdhocCommands, so made-up labels cannot slow every run's status more than real runs can."""
        return min(len(self._children["pod"]), len(self._adhocs))
