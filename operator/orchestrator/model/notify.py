"""What the notification webhook is sent when a run starts waiting for approval or finishes
(pure): a CloudEvents 1.0 event in structured mode, or a Slack-compatible message."""

from __future__ import annotations

from orchestrator import API_VERSION
from orchestrator.model.objects import Obj

FINISHED = "dev.orchestrator.run.finished"
AWAITING_APPROVAL = "dev.orchestrator.run.awaiting-approval"
TAIL_MAX = 4096  # bytes of the output's end a notification carries
DATA_FIELDS = ("phase", "exitCode", "reason", "requestedBy", "approvedBy", "duration")


def output_tail(data: bytes, limit: int = TAIL_MAX) -> str:
    """The last lines of `data` within `limit` bytes: whole lines when any fit, UTF-8 kept whole."""
    if len(data) <= limit:
        return data.decode("utf-8", "replace")
    end = data[-limit:]
    newline = end.find(b"\n")
    if 0 <= newline < len(end) - 1:
        end = end[newline + 1 :]  # the first line was cut: start at the next
    return end.decode("utf-8", "ignore")


def run_data(adhoc: Obj, status: Obj, tail: str | None) -> Obj:
    """The contract's `data`: which run, how it ended, who asked, and the output's last lines
    (None when the output is kept in a Secret: a webhook must not see what view users may not)."""
    meta = adhoc["metadata"]
    data: Obj = {
        "namespace": meta["namespace"],
        "name": meta["name"],
        "generation": status.get("observedGeneration", meta.get("generation")),
    }
    data.update({field: status.get(field) for field in DATA_FIELDS})
    data["outputTail"] = tail
    return data


def cloudevent(event_type: str, data: Obj, event_id: str, time: str) -> Obj:
    return {
        "specversion": "1.0",
        "type": event_type,
        "source": f"/apis/{API_VERSION}/namespaces/{data['namespace']}/adhoccommands/{data['name']}",
        "subject": f"{data['namespace']}/{data['name']}",
        "id": event_id,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def slack_message(data: Obj, event_type: str = FINISHED) -> Obj:
    if event_type == AWAITING_APPROVAL:
        text = f"AdhocCommand {data['namespace']}/{data['name']} (generation {data['generation']}) awaits approval"
        if data.get("requestedBy"):
            text += f", requested by {data['requestedBy']}"
        return {"text": text + f": kubectl adhoc approve {data['name']} -n {data['namespace']}"}
    how = f"exit code {data['exitCode']}" if data.get("exitCode") is not None else data.get("reason") or ""
    text = f"AdhocCommand {data['namespace']}/{data['name']} (generation {data['generation']}): {data['phase']}"
    if how:
        text += f", {how}"
    if data.get("duration"):
        text += f", after {data['duration']}"
    if data.get("requestedBy"):
        text += f", run by {data['requestedBy']}"
    if data.get("outputTail"):
        text += "\n```\n" + data["outputTail"].rstrip("\n").replace("```", "'''") + "\n```"
    return {"text": text}


def payload(form: str, event_type: str, data: Obj, event_id: str, time: str) -> Obj:
    return slack_message(data, event_type) if form == "slack" else cloudevent(event_type, data, event_id, time)
