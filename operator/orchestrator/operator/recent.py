"""What this process did and its watches may not show yet, per AdhocCommand uid (pure state).

The reconciler decides from the world its watches show; right after it writes, that world is a
moment behind. What it wrote is remembered here until the watches catch up, so that it never
creates a Job twice, stores an output twice or writes a status it just wrote.
"""

from __future__ import annotations

from typing import Any

from orchestrator.model.objects import Obj
from orchestrator.model.output import StoredOutput
from orchestrator.model.status import merge_patch


class Recent:
    def __init__(self) -> None:
        self.created: dict[str, Obj] = {}  # Job created
        self.stored: dict[str, StoredOutput] = {}  # output stored
        self.written: dict[str, Obj] = {}  # status written
        self.told_at: dict[str, float] = {}  # when the run last told of itself (Job created, status written)
        self.behind_since: dict[str, float] = {}  # when its pod was first seen behind its finished Job
        self.conflicts: dict[str, str] = {}  # why its output could not be stored
        self.template_looks: dict[str, int] = {}  # looks for its missing spec.from workload
        self.tails: dict[str, str] = {}  # the stored output's last lines, for the notification of its end
        self.refusals: dict[str, tuple[str, str]] = {}  # (Job uid, why the Job controller could not create its pod)
        self.refusal_looks: dict[str, int] = {}  # looks for that reason that found none

    def status(self, uid: str, seen: Obj) -> Obj:
        """The status as last written, until the watch shows it."""
        written = self.written.get(uid)
        if written is None:
            return seen
        if merge_patch(written, seen) is None:
            del self.written[uid]  # the watch caught up
            return seen
        return written

    def jobs(self, uid: str, seen: list[Obj]) -> list[Obj]:
        """The Jobs the watch shows, with the one just created until it shows it too."""
        created = self.created.get(uid)
        if created is None:
            return seen
        if any(j["metadata"].get("uid") == created["metadata"]["uid"] for j in seen):
            del self.created[uid]
            return seen
        return [*seen, created]

    def output(self, uid: str, seen: StoredOutput | None) -> StoredOutput | None:
        """The output stored last: what the watch shows, or a later one this process stored."""
        written = self.stored.get(uid)
        if written is None:
            return seen
        if seen is not None and seen.pod_uid == written.pod_uid:
            del self.stored[uid]
            return seen
        if seen is None or written.attempt >= seen.attempt or written.generation > seen.generation:
            return written
        return seen

    def _all(self) -> tuple[dict[str, Any], ...]:
        return (
            self.created,
            self.stored,
            self.written,
            self.told_at,
            self.behind_since,
            self.conflicts,
            self.template_looks,
            self.tails,
            self.refusals,
            self.refusal_looks,
        )

    def holds(self, uid: str) -> bool:
        """Whether anything is remembered of the AdhocCommand (then its watches may be behind)."""
        return any(uid in memory for memory in self._all())

    def forget(self, uid: str) -> None:
        for memory in self._all():
            memory.pop(uid, None)

    def forget_all(self) -> None:
        """What this process wrote is no guide once another replica has acted."""
        for memory in self._all():
            memory.clear()
