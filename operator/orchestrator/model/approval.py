"""Who asked for a run and whether it may start (pure).

The annotations are set by people and checked by the cluster, not by the operator: the
orchestrator-requested-by policies stamp and guard `requested-by`, and orchestrator-approval
refuses an approval or rejection by anyone but the caller, by the requester, or by someone
without the verb `approve` (charts/orchestrator/templates/admission.yaml). The operator only
reads them, and counts an approval or rejection for the generation it names and no other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from orchestrator import GROUP

REQUESTED_BY = f"{GROUP}/requested-by"
APPROVED_BY = f"{GROUP}/approved-by"
APPROVED_GENERATION = f"{GROUP}/approved-generation"
REJECTED_BY = f"{GROUP}/rejected-by"
REJECTED_GENERATION = f"{GROUP}/rejected-generation"
REJECT_REASON = f"{GROUP}/reject-reason"
# What the operator keeps of an AdhocCommand's annotations (model/views.py).
ANNOTATIONS = (REQUESTED_BY, APPROVED_BY, APPROVED_GENERATION, REJECTED_BY, REJECTED_GENERATION, REJECT_REASON)
# What a run's Job carries from its AdhocCommand when it is created: the status and history
# take who asked and who approved from the run's own Job, not from annotations changed since.
JOB_ANNOTATIONS = (REQUESTED_BY, APPROVED_BY)
REASON_LIMIT = 512


@dataclasses.dataclass(frozen=True)
class Gate:
    """Whether the current generation's run may start, and why not."""

    required: bool
    requested_by: str | None = None
    approved_by: str | None = None  # of this generation
    rejected_by: str | None = None  # of this generation
    reject_reason: str = ""

    @property
    def open(self) -> bool:
        return self.rejected_by is None and (not self.required or self.approved_by is not None)

    def waiting(self) -> tuple[str, str] | None:
        """(reason, message) of a run held for approval; None when it is not held."""
        if self.open or self.rejected_by is not None:
            return None
        who = f" requested by {self.requested_by}" if self.requested_by else ""
        return "AwaitingApproval", f"the run{who} needs the approval of someone else (kubectl adhoc approve)"

    def rejection(self) -> tuple[str, str] | None:
        if self.rejected_by is None:
            return None
        message = f"rejected by {self.rejected_by}"
        if self.reject_reason:
            message += f": {self.reject_reason[:REASON_LIMIT]}"
        return "Rejected", message


def _annotations(adhoc: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = (adhoc.get("metadata") or {}).get("annotations") or {}
    return annotations if isinstance(annotations, Mapping) else {}


def _of_generation(annotations: Mapping[str, Any], who: str, which: str, generation: int) -> str | None:
    name, named = annotations.get(who), annotations.get(which)
    if not isinstance(name, str) or not name or not isinstance(named, str):
        return None
    return name if named.strip() == str(generation) else None


def requires_approval(spec: Mapping[str, Any]) -> bool:
    approval = spec.get("approval")
    return isinstance(approval, Mapping) and approval.get("required") is True


def gate_of(adhoc: Mapping[str, Any]) -> Gate:
    annotations = _annotations(adhoc)
    generation = int((adhoc.get("metadata") or {}).get("generation") or 1)
    requested = annotations.get(REQUESTED_BY)
    reason = annotations.get(REJECT_REASON)
    return Gate(
        required=requires_approval(adhoc.get("spec") or {}),
        requested_by=requested if isinstance(requested, str) and requested else None,
        approved_by=_of_generation(annotations, APPROVED_BY, APPROVED_GENERATION, generation),
        rejected_by=_of_generation(annotations, REJECTED_BY, REJECTED_GENERATION, generation),
        reject_reason=reason if isinstance(reason, str) else "",
    )


def job_annotations(adhoc: Mapping[str, Any]) -> dict[str, str]:
    """Who asked for the run being started, and who approved it, for its Job."""
    gate = gate_of(adhoc)
    out = {REQUESTED_BY: gate.requested_by} if gate.requested_by else {}
    if gate.required and gate.approved_by:
        out[APPROVED_BY] = gate.approved_by
    return out


class NotDecidable(ValueError):
    """The run cannot be approved or rejected now (it needs no approval, or it was decided)."""


def decision(adhoc: Mapping[str, Any], approve: bool, me: str, reason: str = "") -> dict[str, Any]:
    """The merge patch that approves (or rejects) the current generation's run as `me`. It
    carries the resourceVersion read: a spec changed meanwhile is refused (409), never decided
    on unseen. The cluster checks the rest (orchestrator-approval)."""
    meta = adhoc.get("metadata") or {}
    name, generation = meta.get("name"), str(meta.get("generation") or 1)
    gate = gate_of(adhoc)
    if not gate.required:
        raise NotDecidable(f"{name} does not need approval (spec.approval.required is not true)")
    if gate.rejected_by or gate.approved_by:
        verdict, by = ("rejected", gate.rejected_by) if gate.rejected_by else ("approved", gate.approved_by)
        raise NotDecidable(f"{name} generation {generation} is already {verdict} by {by}")
    who, which = (APPROVED_BY, APPROVED_GENERATION) if approve else (REJECTED_BY, REJECTED_GENERATION)
    annotations = {who: me, which: generation}
    if not approve:
        annotations[REJECT_REASON] = reason[:REASON_LIMIT]
    return {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": annotations}}


def run_people(job: Mapping[str, Any] | None) -> dict[str, str]:
    """status.requestedBy and status.approvedBy of the run `job` is."""
    annotations = ((job or {}).get("metadata") or {}).get("annotations") or {}
    fields = {"requestedBy": REQUESTED_BY, "approvedBy": APPROVED_BY}
    return {field: annotations[key] for field, key in fields.items() if isinstance(annotations.get(key), str)}
