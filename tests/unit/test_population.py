"""The populations of make bench-scale: runs the operator takes as ended, kept by digest."""

from typing import Any

import pytest

from bench import population
from orchestrator.model.config import Config
from orchestrator.model.jobs import job_for
from orchestrator.model.output import configmap_for, stored_output_from
from orchestrator.model.pacing import ended
from orchestrator.model.status import status_from

from .factories import T0, T1, adhoc


def test_a_made_run_is_one_the_operator_takes_as_ended():
    """Its status says the end of its Job: a start of the operator writes nothing for it."""
    owner = adhoc()
    job = job_for(owner, Config())
    job["status"] = population.finished_job(job, T0, T1)
    pod = population.succeeded_pod(job, "runner:1", T0, T1)
    cm = configmap_for(owner, pod, 1, 1, population.OUTPUT, len(population.OUTPUT), False)
    status = status_from(owner, job, [pod], stored_output_from(cm), T1)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0
    assert status["logs"]["bytes"] == len(population.OUTPUT)
    assert ended(status, 1, job)


@pytest.mark.parametrize(
    ("names", "digest", "kept"),
    [
        ([], "abc", []),
        (["population-20000-abc.tar", "population-5000-abc.tar"], "abc", [5000, 20000]),
        (["population-20000-old.tar", "population-50000-abc.tar.part"], "abc", []),  # other digest, half-written
        (["population-x-abc.tar", "other.tar"], "abc", []),
    ],
)
def test_kept_populations_are_those_of_this_digest(names, digest, kept):
    assert population.kept_populations(names, digest) == kept


@pytest.mark.parametrize(
    ("size", "kept", "start"),
    [(20000, [], 0), (50000, [20000], 20000), (50000, [20000, 50000, 100000], 20000), (100000, [20000, 50000], 50000)],
)
def test_a_population_grows_from_the_largest_kept_below_it(size, kept, start):
    assert population.starting_point(size, kept) == start


def test_the_digest_changes_with_what_the_objects_are_made_from():
    sources = {"a.py": b"one", "b.py": b"two"}
    assert population.digest_of(sources) == population.digest_of(dict(reversed(sources.items())))
    assert population.digest_of(sources) != population.digest_of({**sources, "b.py": b"three"})
    name = population.snapshot_name(20000, population.digest_of(sources))
    assert population.kept_populations([name], population.digest_of(sources)) == [20000]


def test_a_start_on_a_busy_control_plane_says_so_in_the_scale_table(tmp_path):
    """make bench-scale waits at most QUIET_WAIT for a quiet control plane (a restored 100,000
    kept it busy for over 20 minutes); a start that went on regardless is marked in the table."""
    from bench.bench import write_scale

    point: dict[str, Any] = {"population": 100_000, "peak_rss_mib": 190.0, "idle_rss_mib": 190.0}
    point["restart_to_idle_s"] = 99.0
    point |= {"writes_after_restart": 0, "cpu_s": {"operator": 62.0, "kube-apiserver": 105.0}}
    write_scale(tmp_path, {"date": "today"}, [{**point, "control_plane_settled_s": None}])
    busy = [line for line in (tmp_path / "scale.md").read_text().splitlines() if line.startswith("| 100,000")]
    write_scale(tmp_path, {"date": "today"}, [{**point, "control_plane_settled_s": 12.0}])
    quiet = [line for line in (tmp_path / "scale.md").read_text().splitlines() if line.startswith("| 100,000")]
    assert "(control plane busy)" in busy[0] and "busy" not in quiet[0]
