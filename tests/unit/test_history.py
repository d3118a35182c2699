import pytest

from orchestrator.model.history import entry_for, history_configmap_name, history_limit, rotated


def run(generation: int, phase: str = "Succeeded", logs: bool = True) -> dict:
    status = {"observedGeneration": generation, "jobName": f"x-{generation}", "phase": phase, "exitCode": 0}
    if logs:
        status["logs"] = {"configMap": "x-logs"}
    return status


@pytest.mark.parametrize(
    ("status", "entry"),
    [
        (run(3), {"generation": 3, "jobName": "x-3", "phase": "Succeeded", "exitCode": 0, "logsConfigMap": "x-logs-3"}),
        (run(3, logs=False), {"generation": 3, "jobName": "x-3", "phase": "Succeeded", "exitCode": 0}),
        (
            run(2, phase="Running"),
            {
                "generation": 2,
                "jobName": "x-2",
                "phase": "Running",
                "exitCode": 0,
                "reason": "Replaced",
                "logsConfigMap": "x-logs-2",
            },
        ),
        ({"observedGeneration": 1, "phase": "Failed", "reason": "InvalidSpec"}, None),  # no run started
        ({}, None),
    ],
)
def test_entry_of_the_run_a_status_describes(status, entry):
    assert entry_for(status, "x") == entry


def test_rotation_puts_the_newest_first_and_drops_beyond_the_limit():
    old = [{"generation": 2, "logsConfigMap": "x-logs-2"}, {"generation": 1}]
    history, dropped = rotated({**run(3), "history": old}, "x", 2)
    assert [e["generation"] for e in history] == [3, 2] and dropped == []
    history, dropped = rotated({**run(3), "history": old}, "x", 1)
    assert [e["generation"] for e in history] == [3] and dropped == ["x-logs-2"]
    history, dropped = rotated({**run(3), "history": old}, "x", 0)
    assert history == [] and dropped == ["x-logs-3", "x-logs-2"]


def test_rotation_after_a_retry_adds_no_entry_twice():
    history, _ = rotated({**run(3), "history": [{"generation": 3}]}, "x", 5)
    assert [e["generation"] for e in history] == [3]


def test_names_and_limits():
    assert history_configmap_name("backup", 7) == "backup-logs-7"
    assert len(history_configmap_name("a" * 253, 12)) == 253
    assert history_limit({}) == 5 and history_limit({"historyLimit": 0}) == 0
