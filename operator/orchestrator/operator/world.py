"""What the operator knows of one AdhocCommand, as the reconciler is given it (pure)."""

from __future__ import annotations

import dataclasses

from orchestrator.model.concurrency import Peer
from orchestrator.model.objects import Obj
from orchestrator.model.output import StoredOutput


@dataclasses.dataclass
class World:
    """What the operator knows of one AdhocCommand: from its watches, not from new reads."""

    adhoc: Obj | None
    jobs: list[Obj]
    pods: list[Obj]
    stored: StoredOutput | None
    # The other AdhocCommands of its spec.concurrencyKey in its namespace, with their Jobs.
    peers: list[Peer] = dataclasses.field(default_factory=list)
