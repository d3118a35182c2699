"""The operator's configuration, read once from the environment at startup."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

DEFAULT_IMAGE = "python:3.13-slim"
DEFAULT_RUN_AS_USER = 65532  # the "nonroot" uid of distroless images; any non-zero uid works


@dataclasses.dataclass(frozen=True)
class Config:
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    # Images that run as root by default still start under the restricted standard.
    run_as_user: int = DEFAULT_RUN_AS_USER
    # Seconds a Job or Pod change waits for the changes that follow it, so that they make one
    # status write; changes of the AdhocCommand itself (a new run) are handled at once.
    settle_seconds: float = 0.2
    # Bounded retries of transient API errors for one reconciliation.
    api_retries: int = 6
    # Least seconds between a run's start and its first status write, and between two status
    # writes of a run under way (ten times this when only counts or times changed); the Job
    # controller batches its own updates the same way. The final status is written at once.
    status_interval_seconds: float = 1.0


def from_env(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    base = Config()
    return Config(
        image=env.get("ORCHESTRATOR_DEFAULT_IMAGE") or base.image,
        image_pull_policy=env.get("ORCHESTRATOR_IMAGE_PULL_POLICY") or base.image_pull_policy,
        run_as_user=int(env.get("ORCHESTRATOR_RUN_AS_USER") or base.run_as_user),
        settle_seconds=float(env.get("ORCHESTRATOR_SETTLE_SECONDS") or base.settle_seconds),
        api_retries=int(env.get("ORCHESTRATOR_API_RETRIES") or base.api_retries),
        status_interval_seconds=float(env.get("ORCHESTRATOR_STATUS_INTERVAL_SECONDS")
                                      or base.status_interval_seconds),
    )
