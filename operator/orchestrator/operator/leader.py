"""Leader election on a coordination.k8s.io/v1 Lease: of all operator replicas, exactly one acts.

The decisions are pure (`decide`); `Elector` applies them through kube/client.py. Timings are
client-go's defaults: a lease lasts 15 s, the leader renews it every 2 s and steps down when it
could not renew for 10 s; a replica takes over an expired lease at its next try (within 2 s).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from orchestrator.kube.client import Kube
from orchestrator.kube.errors import ApiError
from orchestrator.model.objects import Obj, micro_timestamp, parse_time

LEASE_DURATION = 15  # seconds a lease holds without renewal
RENEW_DEADLINE = 10.0  # seconds a leader keeps trying to renew before it steps down
RETRY_PERIOD = 2.0  # seconds between tries (renewals, or attempts to take it)

log = logging.getLogger(__name__)


def identity() -> str:
    """Unique per process: the host (the pod's name in a cluster) and a random part."""
    return f"{socket.gethostname()}-{secrets.token_hex(3)}"


def _parsed(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def decide(lease: Obj | None, me: str, now: datetime) -> str:
    """What to do with the lease as it is: "create" it, "renew" ours, "take" an expired or free
    one, or "wait" while another holds it."""
    if lease is None:
        return "create"
    spec = lease.get("spec") or {}
    holder = spec.get("holderIdentity") or ""
    if holder == me:
        return "renew"
    renewed = _parsed(spec.get("renewTime")) or _parsed(spec.get("acquireTime"))
    duration = int(spec.get("leaseDurationSeconds") or LEASE_DURATION)
    if not holder or renewed is None or now >= renewed + timedelta(seconds=duration):
        return "take"
    return "wait"


def held_by(lease: Obj | None, me: str, now: datetime, namespace: str, name: str, action: str) -> Obj:
    """The lease as `me` holds it after `action` (create, renew or take)."""
    lease = lease or {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {},
    }
    spec = dict(lease.get("spec") or {})
    stamp = micro_timestamp(now)
    if action != "renew":
        spec["acquireTime"] = stamp
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if action == "take" else 0)
    spec.update(holderIdentity=me, leaseDurationSeconds=LEASE_DURATION, renewTime=stamp)
    return {**lease, "spec": spec}


class Elector:
    """Keeps trying to hold the lease; calls on_lead() when this replica starts leading and
    on_lose() the moment it stops (another took the lease, or renewing failed too long)."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        on_lead: Callable[[], None],
        on_lose: Callable[[], None],
        me: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.on_lead, self.on_lose, self.clock = on_lead, on_lose, clock
        self.me = me or identity()
        self.leading = False
        self._renewed = 0.0  # monotonic time of the last successful renewal
        self._last_error = ""

    async def run(self) -> None:
        """Runs until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            held = await self._try()
            now = loop.time()
            if held:
                self._renewed = now
                if not self.leading:
                    self.leading = True
                    log.info("leading (lease %s/%s, identity %s)", self.namespace, self.name, self.me)
                    self.on_lead()
            elif self.leading and (held is False or now - self._renewed > RENEW_DEADLINE):
                self.leading = False
                log.warning("lost the lease %s/%s: no longer acting", self.namespace, self.name)
                self.on_lose()
            await asyncio.sleep(RETRY_PERIOD * random.uniform(0.8, 1.0))

    async def _try(self) -> bool | None:
        """True: we hold the lease now; False: another does; None: could not tell (API error)."""
        try:
            lease = await self.kube.get_lease(self.namespace, self.name)
            now = self.clock()
            action = decide(lease, self.me, now)
            if action == "wait":
                return False
            wanted = held_by(lease, self.me, now, self.namespace, self.name, action)
            if action == "create":
                await self.kube.create_lease(wanted)
            else:
                await self.kube.replace_lease(wanted)  # refused (409) if it changed since we read it
            self._last_error = ""
            return True
        except ApiError as err:
            if err.status == 409:
                return False  # another replica wrote it first
            message = str(err)
            if err.status == 404 and "namespaces" in err.message:
                message += f" (the namespace {self.namespace} holds it: make install, or kubectl apply -k kubernetes/)"
            if message != self._last_error:  # said once, not every 2 s
                log.warning("could not take or renew the lease %s/%s: %s", self.namespace, self.name, message)
                self._last_error = message
            return None

    async def release(self) -> None:
        """On a clean shutdown: let another replica take over at once rather than in 15 s."""
        if not self.leading:
            return
        self.leading = False
        try:
            lease = await self.kube.get_lease(self.namespace, self.name)
            if lease is not None and (lease.get("spec") or {}).get("holderIdentity") == self.me:
                spec = {**lease["spec"], "holderIdentity": "", "leaseDurationSeconds": 1}
                await self.kube.replace_lease({**lease, "spec": spec})
        except ApiError as err:
            log.info("lease not released (it expires by itself): %s", err)
