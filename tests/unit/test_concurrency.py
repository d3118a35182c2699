"""One run at a time per concurrencyKey (model/concurrency.py), and the cache's index of keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestrator.model.concurrency import Peer, waits_for
from orchestrator.operator.cache import Cache

from .factories import adhoc, condition, job

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
DB = {"command": "./migrate", "concurrencyKey": "orders-db"}


def named(name: str, created: str, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body = adhoc(spec or DB, name=name, **fields)
    body["metadata"]["creationTimestamp"] = created
    return body


A = named("a", "2026-01-01T10:00:00Z")
B = named("b", "2026-01-01T10:00:01Z")
C = named("c", "2026-01-01T10:00:01Z")  # same second as b: the name decides


def test_a_run_with_no_key_never_waits():
    assert waits_for(named("x", "2026-01-01T10:00:05Z", {"command": "x"}), [Peer(A, [job(A, active=1)])], NOW) is None


def test_the_first_created_ready_run_goes_first_and_the_others_queue_behind_it():
    assert waits_for(A, [Peer(B, []), Peer(C, [])], NOW) is None
    assert waits_for(B, [Peer(A, []), Peer(C, [])], NOW) == (
        "Queued",
        "a was created first (concurrencyKey orders-db): this run starts after it",
    )
    assert waits_for(C, [Peer(B, [])], NOW) is not None  # b and c: the same second, b by name


def test_a_run_under_way_holds_up_even_runs_created_before_it():
    reason = waits_for(A, [Peer(B, [job(B, active=1)])], NOW)
    assert reason == ("Queued", "b runs (concurrencyKey orders-db): this run starts after it")
    held_by_kueue = job(B, suspend=True)
    assert waits_for(A, [Peer(B, [held_by_kueue])], NOW) is not None  # it runs once Kueue admits it


def test_finished_cancelled_and_waiting_runs_do_not_hold_anyone_up():
    done = job(A, succeeded=1, conditions=[condition("Complete")])
    assert waits_for(B, [Peer(A, [done])], NOW) is None
    never_started = job(A, suspend=True)
    never_started["metadata"]["annotations"]["orchestrator.dev/cancelled"] = "true"
    assert waits_for(B, [Peer(A, [never_started])], NOW) is None
    for spec in (
        {**DB, "approval": {"required": True}},  # awaiting approval
        {**DB, "startAt": "2026-01-01T13:00:00Z"},  # awaiting its time
        {**DB, "cancel": True},
    ):
        assert waits_for(B, [Peer(named("a", "2026-01-01T10:00:00Z", spec), [])], NOW) is None, spec
    ended = named("a", "2026-01-01T10:00:00Z", status={"observedGeneration": 1, "phase": "Failed"})
    assert waits_for(B, [Peer(ended, [])], NOW) is None  # rejected or invalid: no Job, ended


def test_the_job_of_an_earlier_generation_does_not_count():
    rerun = named("a", "2026-01-01T10:00:00Z", generation=2)
    old = job(named("a", "2026-01-01T10:00:00Z"), active=1)  # being replaced
    assert waits_for(B, [Peer(rerun, [old])], NOW) is not None  # a's new run is ready, and first
    rerun["status"] = {"observedGeneration": 2, "phase": "Succeeded"}
    assert waits_for(B, [Peer(rerun, [old])], NOW) is None


def test_the_cache_files_runs_by_key_and_namespace():
    cache = Cache()
    other_ns = named("z", "2026-01-01T10:00:00Z")
    other_ns["metadata"].update(namespace="elsewhere", uid="uid-z")
    for body in (A, B, named("k", "2026-01-01T10:00:00Z", {"command": "x"}), other_ns):
        cache.observe("adhoc", body)
    assert sorted(cache.peers_of("uid-a")) == ["uid-b"]
    assert [p.adhoc["metadata"]["name"] for p in cache.world("uid-a").peers] == ["b"]
    cache.observe("adhoc", named("b", "2026-01-01T10:00:01Z", {"command": "./migrate", "concurrencyKey": "x"}))
    assert cache.peers_of("uid-a") == []  # b changed its key
    cache.observe("adhoc", A, deleted=True)
    assert cache.peers_of("uid-b") == [] and cache.world("uid-k").peers == []
