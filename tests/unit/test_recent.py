"""What the reconciler wrote, remembered until its watches show it (pure)."""

from __future__ import annotations

from orchestrator.model.output import StoredOutput
from orchestrator.operator.recent import Recent


def output(pod_uid: str, attempt: int = 1, generation: int = 1) -> StoredOutput:
    return StoredOutput("cmd-logs", pod_uid, "p", attempt, generation, 3, 3, False)


def test_a_written_status_stands_until_the_watch_shows_it():
    recent = Recent()
    recent.written["u"] = {"phase": "Succeeded"}
    assert recent.status("u", {"phase": "Running"}) == {"phase": "Succeeded"}
    assert recent.status("u", {"phase": "Succeeded"}) == {"phase": "Succeeded"}
    assert "u" not in recent.written  # caught up: forgotten
    assert recent.status("u", {"phase": "Running"}) == {"phase": "Running"}


def test_a_created_job_counts_until_the_watch_shows_it():
    recent = Recent()
    created = {"metadata": {"name": "cmd-1", "uid": "j1"}}
    recent.created["u"] = created
    assert recent.jobs("u", []) == [created]
    assert recent.jobs("u", [created]) == [created]
    assert recent.jobs("u", []) == []


def test_the_latest_stored_output_wins_until_the_watch_shows_it():
    recent = Recent()
    recent.stored["u"] = output("pod-2", attempt=2)
    assert recent.output("u", None) == output("pod-2", attempt=2)
    assert recent.output("u", output("pod-1", attempt=1)) == output("pod-2", attempt=2)
    assert recent.output("u", output("pod-2", attempt=2)) == output("pod-2", attempt=2)
    assert "u" not in recent.stored
    recent.stored["u"] = output("pod-1", attempt=1)
    assert recent.output("u", output("pod-3", attempt=3)) == output("pod-3", attempt=3)  # the watch is ahead


def test_forgetting_one_or_all():
    recent = Recent()
    for uid in ("a", "b"):
        recent.conflicts[uid] = "x"
        recent.template_looks[uid] = 2
        recent.told_at[uid] = 1.0
    recent.forget("a")
    assert "a" not in recent.conflicts and "b" in recent.conflicts and "a" not in recent.told_at
    recent.forget_all()
    assert not (recent.conflicts or recent.template_looks or recent.told_at)
