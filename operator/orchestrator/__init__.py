"""orchestrator: a kopf operator that runs AdhocCommands as Kubernetes Jobs and keeps their output."""

import gc

GROUP = "orchestrator.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "AdhocCommand"
PLURAL = "adhoccommands"

# The youngest generation of the cyclic garbage collector is collected after this many new
# containers (Python's default: 700).
GC_THRESHOLD = 20_000


def tune_gc() -> None:
    """For the long-running servers (the operator, the REST API). Every answer from the API
    server is parsed into thousands of dicts and lists, which set off the cyclic garbage
    collector again and again, each time walking everything the process loaded: a quarter of
    the CPU of a GET /jobs under load. What is loaded by now lives for good (frozen, never walked
    again), and the youngest generation waits for 20,000 new containers: the answers are freed
    by reference counting, and short-lived cycles (kopf's per-event Body and Patch, whose views
    point back at them) are now found while still young, instead of outliving two young
    collections while their event is handled and piling up in the oldest generation, which
    only a full collection clears."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
