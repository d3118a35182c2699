"""Run history (pure): when a new run starts, the previous run becomes the newest entry of
status.history and its output is kept in <name>-logs-<generation>; entries beyond
spec.historyLimit go, and so do their ConfigMaps."""

from __future__ import annotations

import copy

from orchestrator.model.names import LABEL_GENERATION, LABEL_MANAGED_BY, LABEL_NAME, MANAGER, label_value, shortened
from orchestrator.model.objects import Obj
from orchestrator.model.spec import HISTORY_LIMIT_DEFAULT, is_finished_phase

ENTRY_FIELDS = ("jobName", "phase", "exitCode", "reason", "startTime", "completionTime", "requestedBy", "approvedBy")
OBJECT_NAME_LIMIT = 253


def history_configmap_name(adhoc_name: str, generation: int) -> str:
    """Where run `generation`'s output is kept once a later run started: <name>-logs-<generation>."""
    return shortened(adhoc_name, OBJECT_NAME_LIMIT, f"-logs-{generation}")


def history_limit(spec: Obj) -> int:
    value = (spec or {}).get("historyLimit")
    return HISTORY_LIMIT_DEFAULT if value is None else max(int(value), 0)


def entry_for(status: Obj, adhoc_name: str) -> Obj | None:
    """The history entry of the run `status` describes; None when no run had started."""
    generation = status.get("observedGeneration")
    if not generation or not status.get("jobName"):
        return None
    entry: Obj = {"generation": int(generation), **{k: status[k] for k in ENTRY_FIELDS if k in status}}
    if not is_finished_phase(status):
        entry["reason"] = "Replaced"  # a new spec stopped it before it ended
    if (status.get("logs") or {}).get("configMap"):
        entry["logsConfigMap"] = history_configmap_name(adhoc_name, int(generation))
    return entry


def rotated(status: Obj, adhoc_name: str, limit: int) -> tuple[list[Obj], list[str]]:
    """The history once the run `status` describes is replaced, and the ConfigMaps of entries
    that leave it. An entry for that generation already there (a retry) is not added twice."""
    history = [e for e in status.get("history") or [] if isinstance(e, dict)]
    entry = entry_for(status, adhoc_name)
    if entry is not None and all(e.get("generation") != entry["generation"] for e in history):
        history = [entry, *history]
    kept, dropped = history[:limit], history[limit:]
    return kept, [e["logsConfigMap"] for e in dropped if e.get("logsConfigMap")]


def kept_output(current: Obj, adhoc: Obj, generation: int) -> Obj:
    """A copy of the logs ConfigMap `current` named for its run's history entry. Without the
    operator's uid label: its informer (and so its idea of the current output) never sees it."""
    meta = adhoc["metadata"]
    body = {k: copy.deepcopy(current[k]) for k in ("data", "binaryData") if current.get(k)}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": history_configmap_name(meta["name"], generation),
            "namespace": meta["namespace"],
            "labels": {
                LABEL_NAME: label_value(meta["name"]),
                LABEL_GENERATION: str(generation),
                LABEL_MANAGED_BY: MANAGER,
            },
            "annotations": dict((current.get("metadata") or {}).get("annotations") or {}),
            "ownerReferences": copy.deepcopy((current.get("metadata") or {}).get("ownerReferences") or []),
        },
        **body,
    }
