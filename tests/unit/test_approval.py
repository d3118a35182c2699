"""Who asked, who approved, and whether a run may start (model/approval.py), with the plan and
status that follow from it."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.model import approval
from orchestrator.model.config import Config
from orchestrator.model.history import entry_for
from orchestrator.model.runs import plan_for
from orchestrator.model.status import status_from

from .factories import T1, adhoc, condition, job

ALICE, BOB = "system:serviceaccount:team:alice", "system:serviceaccount:team:bob"
NEEDS = {"command": "./migrate", "approval": {"required": True}}


def asked(spec: dict[str, Any], generation: int = 1, extra: dict[str, str] | None = None) -> dict[str, Any]:
    body = adhoc(spec, generation=generation)
    body["metadata"]["annotations"] = {approval.REQUESTED_BY: ALICE, **(extra or {})}
    return body


def approved(generation: str, who: str = BOB) -> dict[str, str]:
    return {approval.APPROVED_BY: who, approval.APPROVED_GENERATION: generation}


@pytest.mark.parametrize(
    "spec, generation, annotations, opens, approver",
    [
        ({"command": "x"}, 1, {}, True, None),  # no approval asked for
        (NEEDS, 1, {}, False, None),
        (NEEDS, 1, approved("1"), True, BOB),
        (NEEDS, 2, approved("1"), False, None),  # approved generation 1; the spec changed since
        (NEEDS, 1, approved(" 1 "), True, BOB),
        (NEEDS, 1, approved("one"), False, None),
        (NEEDS, 1, {approval.APPROVED_BY: BOB}, False, None),  # no generation named
        (NEEDS, 1, {approval.APPROVED_GENERATION: "1"}, False, None),  # no one named
        (NEEDS, 1, {**approved("1"), approval.REJECTED_BY: BOB, approval.REJECTED_GENERATION: "1"}, False, BOB),
        ({"command": "x", "approval": {"required": "yes"}}, 1, {}, True, None),  # only true counts
    ],
)
def test_a_run_opens_once_approved_for_its_generation(spec, generation, annotations, opens, approver):
    gate = approval.gate_of(asked(spec, generation, extra=annotations))
    assert gate.open is opens
    assert gate.approved_by == approver


def test_a_rejection_of_this_generation_ends_the_run_and_says_why():
    rejected = {approval.REJECTED_BY: BOB, approval.REJECTED_GENERATION: "1", approval.REJECT_REASON: "not on Friday"}
    gate = approval.gate_of(asked(NEEDS, extra=rejected))
    assert gate.rejection() == ("Rejected", f"rejected by {BOB}: not on Friday")
    assert gate.waiting() is None
    assert approval.gate_of(asked(NEEDS, 2, extra=rejected)).rejection() is None  # a new spec is a new question


def test_a_held_run_has_no_job_and_its_replaced_run_stops():
    old = job(asked({"command": "./migrate --dry-run"}))
    plan = plan_for(asked(NEEDS, 2), [old], Config())
    assert plan.held and plan.create is None and plan.delete == [old]
    assert plan.waiting is not None and plan.waiting[0] == "AwaitingApproval" and ALICE in plan.waiting[1]
    assert plan.error is None


def test_approved_the_job_carries_who_asked_and_who_approved():
    plan = plan_for(asked(NEEDS, extra=approved("1")), [], Config())
    assert plan.create is not None
    annotations = plan.create["metadata"]["annotations"]
    assert annotations[approval.REQUESTED_BY] == ALICE and annotations[approval.APPROVED_BY] == BOB


def test_approval_is_not_a_new_run():
    """Turning approval on for a run that ran changes nothing about that run."""
    ran = job(asked({"command": "./migrate"}), conditions=[condition("Complete")])
    plan = plan_for(asked(NEEDS, 2), [ran], Config())
    assert plan.create is None and not plan.held and plan.current is ran


def test_the_status_of_a_waiting_run_names_its_requester_and_is_not_approved():
    status = status_from(asked(NEEDS), None, [], None, T1, waiting=approval.gate_of(asked(NEEDS)).waiting())
    assert (status["phase"], status["reason"], status["requestedBy"]) == ("Pending", "AwaitingApproval", ALICE)
    [cond] = [c for c in status["conditions"] if c["type"] == "Approved"]
    assert (cond["status"], cond["reason"]) == ("False", "AwaitingApproval")


def test_the_status_of_a_rejected_run():
    owner = asked(NEEDS, extra={approval.REJECTED_BY: BOB, approval.REJECTED_GENERATION: "1"})
    status = status_from(owner, None, [], None, T1, error=approval.gate_of(owner).rejection())
    assert (status["phase"], status["reason"], status["requestedBy"]) == ("Failed", "Rejected", ALICE)
    [cond] = [c for c in status["conditions"] if c["type"] == "Approved"]
    assert (cond["status"], cond["reason"]) == ("False", "Rejected")


def test_a_run_keeps_who_asked_and_approved_when_it_started_into_its_history():
    """The run's Job says who asked and approved; a later change of the annotations (the next
    requester's stamp) does not rewrite the run that is under way or done."""
    owner = asked(NEEDS, extra=approved("1"))
    ran = job(owner, conditions=[condition("Complete")], succeeded=1)
    owner["metadata"]["annotations"][approval.REQUESTED_BY] = "carol"
    status = status_from(owner, ran, [], None, T1)
    assert (status["requestedBy"], status["approvedBy"]) == (ALICE, BOB)
    [cond] = [c for c in status["conditions"] if c["type"] == "Approved"]
    assert (cond["status"], cond["message"]) == ("True", f"approved by {BOB}")
    entry = entry_for(status, "cmd")
    assert entry is not None and (entry["requestedBy"], entry["approvedBy"]) == (ALICE, BOB)


def test_a_run_without_approval_has_no_approved_condition_and_may_name_no_requester():
    owner = adhoc({"command": "x"})
    status = status_from(owner, job(owner), [], None, T1)
    assert "requestedBy" not in status and "approvedBy" not in status
    assert "Approved" not in {c["type"] for c in status["conditions"]}


@pytest.mark.parametrize(
    "spec, annotations, refused",
    [
        ({"command": "x"}, {}, "does not need approval"),
        (NEEDS, approved("1"), "generation 1 is already approved by " + BOB),
        (NEEDS, {approval.REJECTED_BY: BOB, approval.REJECTED_GENERATION: "1"}, "already rejected by " + BOB),
        (NEEDS, approved("0"), None),  # an approval of another generation: this one is still open
    ],
)
def test_a_decision_is_refused_when_there_is_nothing_to_decide(spec, annotations, refused):
    owner = asked(spec, extra=annotations)
    owner["metadata"]["resourceVersion"] = "42"
    if refused is None:
        patch = approval.decision(owner, True, BOB)
        assert patch == {
            "metadata": {"resourceVersion": "42", "annotations": {**approved("1")}},
        }
        return
    with pytest.raises(approval.NotDecidable, match=refused):
        approval.decision(owner, True, BOB)


def test_a_rejection_carries_its_reason_cut_to_size():
    patch = approval.decision(asked(NEEDS), False, BOB, "no " * 1000)
    annotations = patch["metadata"]["annotations"]
    assert annotations[approval.REJECTED_BY] == BOB and annotations[approval.REJECTED_GENERATION] == "1"
    assert len(annotations[approval.REJECT_REASON]) == approval.REASON_LIMIT
