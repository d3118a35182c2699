"""python -m orchestrator.operator: kopf keeps no record per AdhocCommand; its flags."""

from __future__ import annotations

import pytest
from kopf._core.reactor.inventory import ResourceMemories

from orchestrator.operator.__main__ import Unremembered, arguments


def body(i: int) -> dict:
    return {"metadata": {"uid": f"uid-{i}", "name": f"run-{i}", "namespace": "ns"}}


@pytest.mark.parametrize(("memories", "kept"), [(ResourceMemories(), 1000), (Unremembered(), 0)])
async def test_kopfs_records_of_objects_are_not_kept(memories, kept):
    memo = {"runtime": object()}
    for i in range(1000):
        record = await memories.recall(body(i), memobase=memo, noticed_by_listing=True)
        assert record.memo["runtime"] is memo["runtime"]  # handlers still reach the operator's state
    assert len(list(memories.iter_all_memories())) == kept


@pytest.mark.parametrize(
    ("argv", "env", "namespaces"),
    [
        ([], "", []),
        ([], "team-a,team-b", ["team-a", "team-b"]),
        (["--namespace", "x"], "team-a", ["x"]),
        (["--all-namespaces"], "team-a", []),
    ],
)
def test_the_namespaces_watched(monkeypatch, argv, env, namespaces):
    monkeypatch.setenv("ORCHESTRATOR_NAMESPACES", env)
    assert arguments(argv).namespace == namespaces


def test_both_namespace_flags_are_refused(capsys):
    with pytest.raises(SystemExit):
        arguments(["-n", "a", "-A"])
    assert "not both" in capsys.readouterr().err
