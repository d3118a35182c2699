import pytest

from orchestrator.model.output import configmap_for, stored_output_from
from orchestrator.model.views import adhoc_view, job_view
from orchestrator.operator.cache import Cache

from .factories import adhoc, job, pod, terminated


def labelled(obj, owner_uid="uid-cmd"):
    obj["metadata"].setdefault("labels", {})["orchestrator.dev/adhoccommand-uid"] = owner_uid
    return obj


def test_world_gathers_an_adhoccommands_objects():
    cache = Cache()
    owner = adhoc()
    assert cache.observe("adhoc", owner) == "uid-cmd"
    assert cache.observe("job", job(owner)) == "uid-cmd"  # Jobs carry the uid label already
    assert cache.observe("pod", labelled(pod(phase="Succeeded", state=terminated(0)))) == "uid-cmd"
    cm = configmap_for(owner, pod(), 1, 1, b"out", 3, False)
    cm["metadata"]["uid"] = "cm-uid"  # as the API server returns it
    assert cache.observe("configmap", cm) == "uid-cmd"
    world = cache.world("uid-cmd")
    assert world.adhoc is not None and world.adhoc["metadata"]["name"] == "cmd"
    assert [j["metadata"]["name"] for j in world.jobs] == ["cmd-1"]
    assert world.pods[0]["status"]["phase"] == "Succeeded"
    assert world.stored is not None and world.stored.bytes == 3


def test_updates_replace_and_deletions_remove():
    cache = Cache()
    owner = adhoc()
    cache.observe("adhoc", owner)
    first = labelled(pod())
    cache.observe("pod", first)
    cache.observe("pod", labelled(pod(phase="Succeeded", state=terminated(0))))  # same uid: replaced
    assert [p["status"]["phase"] for p in cache.world("uid-cmd").pods] == ["Succeeded"]
    cache.observe("pod", first, deleted=True)
    assert cache.world("uid-cmd").pods == []
    cache.observe("adhoc", owner, deleted=True)
    assert cache.world("uid-cmd").adhoc is None and len(cache) == 0


def test_objects_without_our_label_are_ignored():
    cache = Cache()
    assert cache.observe("pod", pod()) is None
    assert cache.observe("configmap", {"metadata": {"name": "x", "uid": "u"}}) is None


def test_an_update_that_changes_nothing_kept_concerns_no_adhoccommand():
    cache = Cache()
    owner = adhoc()
    assert cache.observe("adhoc", owner) == "uid-cmd"
    assert cache.observe("adhoc", owner) is None  # e.g. a label added: nothing to reconcile
    running = labelled(pod(phase="Running"))
    assert cache.observe("pod", running) == "uid-cmd"
    running["metadata"]["finalizers"] = []  # the Job controller drops its finalizer
    assert cache.observe("pod", running) is None
    assert cache.observe("pod", labelled(pod(phase="Succeeded", state=terminated(0)))) == "uid-cmd"
    cache.observe("pod", running, deleted=True)
    assert cache.observe("pod", running, deleted=True) is None  # already gone


def test_a_fresh_listing_forgets_what_it_no_longer_holds():
    cache = Cache()
    owner = adhoc()
    cache.observe("adhoc", owner)
    kept, gone = labelled(pod(name="kept")), labelled(pod(name="gone"))
    cache.observe("pod", kept)
    cache.observe("pod", gone)
    cm = configmap_for(owner, pod(), 1, 1, b"out", 3, False)
    cm["metadata"]["uid"] = "cm-uid"
    assert cache.observe("configmap", cm) == "uid-cmd"
    assert cache.retain("pod", {Cache.key_of("pod", kept)}) == {"uid-cmd"}
    assert [p["metadata"]["name"] for p in cache.world("uid-cmd").pods] == ["kept"]
    assert cache.retain("configmap", {Cache.key_of("configmap", cm)}) == set()
    assert cache.retain("configmap", set()) == {"uid-cmd"}
    assert cache.world("uid-cmd").stored is None


def in_namespace(obj, namespace):
    obj["metadata"]["namespace"] = namespace
    return obj


def test_a_listing_of_one_namespace_forgets_only_that_namespaces_objects():
    """With namespaced RBAC each namespace is listed on its own: a relist of team-a after an
    expired watch must not forget team-b's pods or outputs."""
    cache = Cache()
    owners = {}
    for ns in ("team-a", "team-b"):
        owner = in_namespace(adhoc(name=f"cmd-{ns}"), ns)
        owners[ns] = owner
        uid = owner["metadata"]["uid"]
        cache.observe("adhoc", owner)
        cache.observe("pod", in_namespace(labelled(pod(name=f"pod-{ns}"), uid), ns))
        cache.observe("job", in_namespace(job(owner, uid=f"job-{ns}"), ns))
        cm = configmap_for(owner, pod(), 1, 1, b"out", 3, False)
        cm["metadata"]["uid"] = f"cm-{ns}"
        cache.observe("configmap", cm)
    # A pod whose AdhocCommand the cache no longer holds is judged by its own namespace.
    cache.observe("pod", in_namespace(labelled(pod(name="orphan"), "uid-gone"), "team-b"))

    assert cache.retain("pod", set(), "team-a") == {"uid-cmd-team-a"}
    assert cache.retain("configmap", set(), "team-a") == {"uid-cmd-team-a"}
    a, b = cache.world("uid-cmd-team-a"), cache.world("uid-cmd-team-b")
    assert (a.pods, a.stored) == ([], None)
    assert [p["metadata"]["name"] for p in b.pods] == ["pod-team-b"]
    assert b.stored is not None
    assert cache.retain("pod", set()) == {"uid-cmd-team-b", "uid-gone"}  # cluster-wide: all of them


def test_a_victims_uid_label_elsewhere_never_reaches_the_victims_world():
    """Anyone who can create Jobs in some namespace and knows a victim's uid could label their own
    Job with it: only objects in the AdhocCommand's namespace, under its control, count."""
    cache = Cache()
    victim = adhoc()
    cache.observe("adhoc", victim)
    forged = in_namespace(job(victim, uid="forged-job"), "attacker")  # the label and the owner reference copied
    assert cache.observe("job", forged) == "uid-cmd"
    cm = in_namespace(configmap_for(victim, pod(), 1, 1, b"forged", 6, False), "attacker")
    cm["metadata"]["uid"] = "cm-forged"
    cache.observe("configmap", cm)
    world = cache.world("uid-cmd")
    assert world.jobs == [] and world.stored is None
    uncontrolled = job(victim, uid="no-owner")  # in the right namespace, but nobody's controller
    uncontrolled["metadata"]["ownerReferences"] = []
    assert cache.observe("job", uncontrolled) is None
    assert cache.world("uid-cmd").jobs == []
    ours = job(victim, uid="ours")
    assert cache.observe("job", ours) == "uid-cmd"
    assert [j["metadata"]["uid"] for j in cache.world("uid-cmd").jobs] == ["ours"]


def ended_status(owner, job_name="cmd-1", generation=1):
    return {**owner, "status": {"phase": "Succeeded", "observedGeneration": generation, "jobName": job_name}}


def test_a_run_whose_end_is_written_keeps_no_pods():
    """The reconciler never reads an ended run's pods (pacing.ended): they are not kept."""
    cache = Cache()
    owner = adhoc()
    cache.observe("adhoc", owner)
    cache.observe("job", job(owner, succeeded=1, conditions=[{"type": "Complete", "status": "True"}]))
    finished = labelled(pod(phase="Succeeded", state=terminated(0)))
    assert cache.observe("pod", finished) == "uid-cmd"  # the exit code the status is written from
    assert len(cache.world("uid-cmd").pods) == 1
    assert cache.observe("adhoc", ended_status(owner)) == "uid-cmd"
    assert cache.world("uid-cmd").pods == []
    # Its pod listed again (a restart) or refreshed, or deleted by the PodGC: nothing to do.
    assert cache.observe("pod", finished) is None and cache.world("uid-cmd").pods == []
    assert cache.observe("pod", finished, deleted=True) is None


def test_pods_are_kept_while_the_run_is_under_way_or_its_job_not_finished():
    cache = Cache()
    owner = adhoc()
    cache.observe("job", job(owner, active=1))  # not finished: a status saying so is not the end
    cache.observe("adhoc", ended_status(owner))
    assert cache.observe("pod", labelled(pod(phase="Succeeded", state=terminated(0)))) == "uid-cmd"
    assert len(cache.world("uid-cmd").pods) == 1
    # A rerun (generation 2) of an ended run: its new pods are kept.
    cache = Cache()
    cache.observe("job", job(owner, succeeded=1, conditions=[{"type": "Complete", "status": "True"}]))
    cache.observe("adhoc", ended_status(owner))
    rerun = ended_status(adhoc(generation=2))
    assert cache.observe("adhoc", rerun) == "uid-cmd"
    assert cache.observe("pod", labelled(pod("cmd-2-xyz", phase="Running"))) == "uid-cmd"
    assert cache.observe("pod", labelled(pod("cmd-2-xyz", phase="Succeeded", state=terminated(0)))) == "uid-cmd"
    assert [p["metadata"]["name"] for p in cache.world("uid-cmd").pods] == ["cmd-2-xyz"]


def finished_run(cache, name="cmd", spec=None):
    """A run that printed and succeeded, its end written: what a restart lists, in that order."""
    owner = adhoc(spec, name=name)
    done = job(owner, uid=f"job-{name}", succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    cm = configmap_for(owner, pod(f"{name}-1-abcde"), 1, 1, b"out", 3, False)
    cm["metadata"]["uid"] = f"cm-{name}"
    cache.observe("job", done)
    cache.observe("configmap", cm)
    ended = ended_status(owner, job_name=done["metadata"]["name"])
    cache.observe("adhoc", ended)
    return ended, done, cm


def test_a_finished_run_is_sealed_and_reads_as_before():
    cache = Cache()
    ended, done, cm = finished_run(cache)
    assert cache.sealed == 1 and len(cache) == 1 and cache.uids() == ["uid-cmd"]
    world = cache.world("uid-cmd")
    assert world.adhoc == adhoc_view(ended)
    assert world.jobs == [job_view(done)]
    assert world.stored == stored_output_from(cm)
    assert world.pods == []
    assert cache.phases["Succeeded"] == 1


@pytest.mark.parametrize(
    "order",
    [
        ("job", "configmap", "adhoc"),  # children first, as kopf's watch came after them
        ("adhoc", "job", "configmap"),  # a start: the AdhocCommands listed first, then the children
        ("adhoc", "configmap", "job"),
        ("configmap", "adhoc", "job"),
    ],
)
def test_a_finished_run_is_sealed_whatever_order_its_objects_come_in(order):
    owner = adhoc()
    done = job(owner, uid="job-cmd", succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    cm = configmap_for(owner, pod("cmd-1-abcde"), 1, 1, b"out", 3, False)
    cm["metadata"]["uid"] = "cm-cmd"
    ended = ended_status(owner, job_name=done["metadata"]["name"])
    objects = {"adhoc": ended, "job": done, "configmap": cm}
    cache = Cache()
    for kind in order:
        cache.observe(kind, objects[kind])
    assert cache.sealed == 1 and len(cache) == 1
    world = cache.world("uid-cmd")
    assert (world.adhoc, world.jobs, world.stored) == (adhoc_view(ended), [job_view(done)], stored_output_from(cm))
    # Its pod listed after the run was sealed: not kept (the status holds what it said).
    assert cache.observe("pod", labelled(pod(phase="Succeeded", state=terminated(0)))) is None
    assert cache.world("uid-cmd").pods == [] and cache.sealed == 1


@pytest.mark.parametrize(
    "change",
    ["job deleted", "job updated", "output deleted", "rerun", "same job listed again", "same adhoc again"],
)
def test_a_change_to_a_sealed_run_opens_it_and_is_told(change):
    cache = Cache()
    ended, done, cm = finished_run(cache)
    if change == "job deleted":
        assert cache.observe("job", done, deleted=True) == "uid-cmd"
        assert cache.world("uid-cmd").jobs == [] and cache.sealed == 0
    elif change == "job updated":  # e.g. cancelled by hand: the Job is annotated
        done["metadata"]["annotations"]["orchestrator.dev/cancelled"] = "true"
        assert cache.observe("job", done) == "uid-cmd"
        assert cache.world("uid-cmd").jobs == [job_view(done)]
        assert cache.sealed == 1  # still ended: sealed again
    elif change == "output deleted":
        assert cache.observe("configmap", cm, deleted=True) == "uid-cmd"
        assert cache.world("uid-cmd").stored is None
    elif change == "rerun":
        rerun = {**ended, "metadata": {**ended["metadata"], "generation": 2}}
        assert cache.observe("adhoc", rerun) == "uid-cmd"
        assert (cache.world("uid-cmd").adhoc or {})["metadata"]["generation"] == 2 and cache.sealed == 0
        assert cache.world("uid-cmd").jobs == [job_view(done)]  # the old Job, to be replaced
    elif change == "same job listed again":
        assert cache.observe("job", done) is None and cache.sealed == 1
    else:
        assert cache.observe("adhoc", ended) is None and cache.sealed == 1
    assert cache.world("uid-cmd").adhoc is not None


def test_a_sealed_run_is_settled_until_one_of_its_objects_changes():
    cache = Cache()
    ended, _, _ = finished_run(cache)
    assert cache.settled("uid-cmd")
    rerun = {**ended, "metadata": {**ended["metadata"], "generation": 2}}
    cache.observe("adhoc", rerun)  # opened: a new run is due
    assert not cache.settled("uid-cmd")
    cache.observe("adhoc", ended)  # back as it was (generation 1 again, in this table): sealed
    assert cache.sealed == 1 and cache.settled("uid-cmd")
    assert not cache.settled("uid-other")


def test_a_sealed_run_with_something_due_is_not_settled():
    """Ended, yet a replaced run's Job is still there to delete: sealed, and reconciled at a start."""
    cache = Cache()
    finished_run(cache)
    older = job(adhoc(generation=0), uid="job-older", succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    older["metadata"]["name"] = "cmd-0"
    older["metadata"]["labels"]["orchestrator.dev/generation"] = "0"
    cache.observe("job", older)
    assert cache.sealed == 1 and not cache.settled("uid-cmd")


def test_a_sealed_run_deleted_is_forgotten():
    cache = Cache()
    ended, _, _ = finished_run(cache)
    assert cache.observe("adhoc", ended, deleted=True) == "uid-cmd"
    assert len(cache) == 0 and cache.uids() == [] and cache.phases["Succeeded"] == 0
    assert cache.world("uid-cmd").adhoc is None


def test_a_listing_that_no_longer_holds_a_sealed_runs_job_or_output_forgets_them():
    cache = Cache()
    finished_run(cache, "a")
    _, kept_job, kept_cm = finished_run(cache, "b")
    assert cache.retain("job", {Cache.key_of("job", kept_job)}) == {"uid-a"}
    assert cache.world("uid-a").jobs == [] and len(cache.world("uid-b").jobs) == 1
    assert cache.retain("configmap", {Cache.key_of("configmap", kept_cm)}) == {"uid-a"}
    assert cache.world("uid-a").stored is None and cache.world("uid-b").stored is not None
    assert cache.sealed == 1  # b, untouched


def test_a_sealed_peer_is_seen_with_its_job():
    cache = Cache()
    spec = {"command": "echo hi", "concurrencyKey": "db"}
    finished_run(cache, "first", spec)
    waiting = adhoc(spec, name="second")
    cache.observe("adhoc", waiting)
    assert cache.peers_of("uid-second") == ["uid-first"]
    [peer] = cache.world("uid-second").peers
    assert peer.adhoc["metadata"]["name"] == "first"
    assert [j["metadata"]["name"] for j in peer.jobs] == ["first-1"]


def test_a_pod_of_a_sealed_run_is_not_kept_unless_it_runs_again():
    cache = Cache()
    finished_run(cache)
    finished = labelled(pod(phase="Succeeded", state=terminated(0)))
    assert cache.observe("pod", finished) is None and cache.world("uid-cmd").pods == []
    assert cache.sealed == 1
