"""Deterministic names and labels of the objects the operator makes for an AdhocCommand."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from orchestrator import GROUP

# Labels on every Job, Pod and ConfigMap the operator makes. The uid label is what the
# operator selects on (server-side); the name label is for people and kubectl.
LABEL_NAME = f"{GROUP}/adhoccommand"
LABEL_UID = f"{GROUP}/adhoccommand-uid"
LABEL_GENERATION = f"{GROUP}/generation"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "orchestrator"

JOB_NAME_LIMIT = 63  # Job names end up in the pods' job-name label: a label value's limit.
LABEL_VALUE_LIMIT = 63
OBJECT_NAME_LIMIT = 253
LOGS_SUFFIX = "-logs"
HASH_CHARS = 8


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


def shortened(name: str, limit: int, suffix: str = "") -> str:
    """name + suffix, or when that is too long, a cut of name, a hash of all of it, and suffix.

    The hash keeps two long names that share a prefix apart; the result ends alphanumeric.
    """
    if len(name) + len(suffix) <= limit:
        return name + suffix
    keep = limit - len(suffix) - HASH_CHARS - 1
    head = name[:keep].rstrip("-.")
    return f"{head}-{_digest(name)}{suffix}"


def job_name(adhoc_name: str, generation: int) -> str:
    """The Job of the run that started at `generation`: a DNS label, unique per run."""
    base = re.sub(r"[^a-z0-9-]", "-", adhoc_name.lower())
    if base != adhoc_name:  # dots replaced: keep names that differed only there apart
        base = f"{base}-{_digest(adhoc_name)}"
    return shortened(base, JOB_NAME_LIMIT, f"-{generation}")


def logs_configmap_name(adhoc_name: str) -> str:
    return shortened(adhoc_name, OBJECT_NAME_LIMIT, LOGS_SUFFIX)


def label_value(adhoc_name: str) -> str:
    """The AdhocCommand's name as a label value (at most 63 characters)."""
    return shortened(adhoc_name, LABEL_VALUE_LIMIT)


def labels_for(adhoc_name: str, uid: str, generation: int | None = None) -> dict[str, str]:
    labels = {
        LABEL_NAME: label_value(adhoc_name),
        LABEL_UID: uid,
        LABEL_MANAGED_BY: MANAGER,
    }
    if generation is not None:
        labels[LABEL_GENERATION] = str(generation)
    return labels


def controller_of(obj: Mapping[str, Any]) -> str | None:
    """The uid of the object's controller (its ownerReference with controller: true), if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref.get("uid")
    return None
