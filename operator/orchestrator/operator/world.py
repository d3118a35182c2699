"""What the operator knows of one AdhocCommand, as the reconciler is given it (pure)."""

from __future__ import annotations

import dataclasses
from typing import Any

from orchestrator.model.output import StoredOutput

Obj = dict[str, Any]


@dataclasses.dataclass
class World:
    """What the operator knows of one AdhocCommand: from its watches, not from new reads."""

    adhoc: Obj | None
    jobs: list[Obj]
    pods: list[Obj]
    stored: StoredOutput | None
    # Why the Job controller could not create a Job's pod (its FailedCreate event), by Job uid.
    refusals: dict[str, str] = dataclasses.field(default_factory=dict)
