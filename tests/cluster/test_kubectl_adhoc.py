"""kubectl adhoc, as a user runs it: kubectl finds the plugin on PATH; the command's output comes
live, its exit code is the plugin's; mistakes get one clear line. Commands run on the real node."""

from __future__ import annotations

import functools
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hack.harness import Cluster, ExecCredential, runner_image, wait_until
from tests.cluster.helpers import ON_REAL_NODE, adhoc, sim, status_of
from tests.cluster.test_from_workload import app

pytestmark = pytest.mark.usefixtures("operator")
PLUGIN_DIR = Path(sys.executable).parent  # where pip put the console script kubectl-adhoc
ON_REAL = ["--overrides", json.dumps({"spec": ON_REAL_NODE})]


def plugin_env() -> dict[str, str]:
    """The environment with the plugin on PATH, where kubectl looks for kubectl-adhoc."""
    return {**os.environ, "PATH": f"{PLUGIN_DIR}{os.pathsep}{os.environ['PATH']}"}


def adhoc_command(cluster: Cluster, namespace: str, *args: str, kubeconfig: Path | None = None) -> list[str]:
    """`kubectl adhoc SUBCOMMAND ...` as a user types it (as the cluster's admin, or as whoever
    `kubeconfig` logs in); the cluster's options before the rest: after `--` is the command."""
    subcommand, *rest = args
    return [
        cluster.kubectl_path,
        "adhoc",
        subcommand,
        "--kubeconfig",
        str(kubeconfig or cluster.kubeconfig),
        "-n",
        namespace,
        *rest,
    ]


def adhoc_cli(
    cluster: Cluster, namespace: str, *args: str, timeout: float = 180, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`kubectl adhoc ...` through kubectl's plugin lookup, run to its end."""
    command = adhoc_command(cluster, namespace, *args, kubeconfig=kubeconfig)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=plugin_env())


def test_run_prints_the_output_and_exits_with_the_commands_code(real_node: Cluster, namespace: str):
    zen = adhoc_cli(real_node, namespace, "run", "zen", *ON_REAL, "--", 'python3 -c "import this"')
    assert zen.returncode == 0, zen.stderr
    assert "Beautiful is better than ugly." in zen.stdout
    fails = adhoc_cli(real_node, namespace, "run", "fails", *ON_REAL, "--", "echo before; exit 3")
    assert fails.returncode == 3 and fails.stdout == "before\n", (fails.stdout, fails.stderr)
    assert status_of(real_node, namespace, "fails")["exitCode"] == 3  # kept, like any AdhocCommand
    exec_form = adhoc_cli(
        real_node, namespace, "run", "exec-form", "--rm", *ON_REAL, "--", "python3", "-c", "print(6 * 7)"
    )
    assert exec_form.returncode == 0 and exec_form.stdout == "42\n"
    assert real_node.get("adhoc", "exec-form", namespace) is None  # --rm


def test_run_streams_lines_as_they_are_printed(real_node: Cluster, namespace: str):
    loop = "for i in 1 2 3 4 5; do echo $i; sleep 2; done"
    command = adhoc_command(real_node, namespace, "run", "counting", *ON_REAL, "--", loop)
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=plugin_env())
    assert process.stdout is not None
    arrivals = [(time.monotonic() - started, line.strip()) for line in process.stdout]
    assert process.wait(timeout=60) == 0
    assert [line for _, line in arrivals] == ["1", "2", "3", "4", "5"]
    # Live: once the stream follows the pod, lines printed 2 s apart arrive about 2 s apart.
    assert arrivals[4][0] - arrivals[2][0] >= 3, arrivals


def test_logs_detach_and_rerun(real_node: Cluster, namespace: str):
    detached = adhoc_cli(real_node, namespace, "run", "later", "--detach", *ON_REAL, "--", "echo ran")
    assert detached.returncode == 0 and "adhoccommand/later created" in detached.stdout
    followed = adhoc_cli(real_node, namespace, "logs", "later", "-f")
    assert followed.returncode == 0 and followed.stdout == "ran\n"
    assert adhoc_cli(real_node, namespace, "logs", "later").stdout == "ran\n"  # stored
    again = adhoc_cli(real_node, namespace, "rerun", "later", "--wait")
    assert again.returncode == 0 and again.stdout == "ran\n", again.stderr
    later = real_node.must_get("adhoc", "later", namespace)
    assert later["metadata"]["generation"] == 2 and later["status"]["observedGeneration"] == 2
    assert "orchestrator.dev/rerun-at" in later["spec"]["podMetadata"]["annotations"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", "Not_A_Name", "--", "true"], "is not a valid name"),
        (["run", "x", "--timeout", "soon", "--", "true"], "--timeout"),
        (["run", "x", "--overrides", "{spec", "--", "true"], "--overrides: not JSON"),
        (["logs", "does-not-exist"], "not found"),
        (["rerun", "does-not-exist"], "not found"),
    ],
)
def test_mistakes_get_one_clear_line(cluster: Cluster, namespace: str, args: list[str], says: str):
    result = adhoc_cli(cluster, namespace, *args)
    assert result.returncode == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_cluster_is_one_clear_line(cluster: Cluster, tmp_path: Path):
    config = tmp_path / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    result = subprocess.run(
        [str(PLUGIN_DIR / "kubectl-adhoc"), "run", "x", "--kubeconfig", str(config), "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "could not be reached" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_history_keeps_earlier_runs_and_their_output(real_node: Cluster, namespace: str):
    """Each new run (a new spec, or a rerun) keeps the one before in status.history and its output
    in <name>-logs-<generation>, at most historyLimit of them."""
    spec = {"spec": {**ON_REAL_NODE, "historyLimit": 1}}
    first = adhoc_cli(real_node, namespace, "run", "report", "--overrides", json.dumps(spec), "--", "echo first")
    assert first.returncode == 0 and first.stdout == "first\n"
    real_node.kubectl(
        "-n",
        namespace,
        "patch",
        "adhoc",
        "report",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"command": "echo second"}}),
    )
    assert adhoc_cli(real_node, namespace, "logs", "report", "-f").stdout == "second\n"

    listed = adhoc_cli(real_node, namespace, "history", "report")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["GENERATION", "PHASE", "REASON", "EXIT"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["2", "Succeeded", "Completed", "0"],
        ["1", "Succeeded", "Completed", "0"],
    ]
    assert adhoc_cli(real_node, namespace, "logs", "report", "--generation", "1").stdout == "first\n"
    assert adhoc_cli(real_node, namespace, "logs", "report", "--generation", "2").stdout == "second\n"
    kept = real_node.must_get("configmap", "report-logs-1", namespace)
    assert kept["metadata"]["labels"]["orchestrator.dev/generation"] == "1"
    assert kept["metadata"]["ownerReferences"][0]["kind"] == "AdhocCommand"

    again = adhoc_cli(real_node, namespace, "rerun", "report", "--wait")  # generation 3: 1 leaves the history
    assert again.returncode == 0 and again.stdout == "second\n"
    history = status_of(real_node, namespace, "report")["history"]
    assert [entry["generation"] for entry in history] == [2]
    assert real_node.get("configmap", "report-logs-1", namespace) is None
    assert real_node.get("configmap", "report-logs-2", namespace) is not None
    gone = adhoc_cli(real_node, namespace, "logs", "report", "--generation", "1")
    assert gone.returncode == 1 and "is not kept" in gone.stderr


def test_run_from_a_deployment(real_node: Cluster, namespace: str):
    """kubectl create job --from=..., declaratively: the app's image, env and secrets."""
    real_node.kubectl("-n", namespace, "create", "secret", "generic", "db", "--from-literal=password=s3cret")
    real_node.kubectl("-n", namespace, "create", "configmap", "app-config", "--from-literal=DATABASE=orders")
    real_node.apply(app("web"), namespace)
    result = adhoc_cli(
        real_node, namespace, "run", "migrate", "--from", "deployment/web", "--", 'echo "$APP_MODE $DATABASE"'
    )
    assert result.returncode == 0 and result.stdout == "production orders\n", result.stderr
    bad = adhoc_cli(real_node, namespace, "run", "m2", "--from", "pod/web", "--", "true")
    assert bad.returncode == 1 and "--from" in bad.stderr


def test_plan_prints_the_job_the_operator_creates_and_creates_nothing(
    simulated: Cluster, namespace: str, tmp_path: Path
):
    simulated.apply(app("web"), namespace)
    spec = {
        "command": "echo migrate",
        "env": [{"name": "LEVEL", "value": "debug"}],
        "from": {"kind": "Deployment", "name": "web"},
    }
    file = tmp_path / "migrate.yaml"
    file.write_text(yaml.safe_dump(adhoc("migrate", **spec)))
    planned = adhoc_cli(simulated, namespace, "plan", "-f", str(file))
    assert planned.returncode == 0, planned.stderr
    job = yaml.safe_load(planned.stdout)
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert job["kind"] == "Job" and container["image"] == runner_image()  # the Deployment's
    assert {"name": "LEVEL", "value": "debug"} in container["env"]
    assert {"name": "APP_MODE", "value": "production"} in container["env"]
    assert simulated.get("adhoc", "migrate", namespace) is None and not simulated.list("jobs", namespace)

    # By name: the plan is the Job the operator then creates.
    simulated.apply(adhoc("migrate", **spec), namespace)
    created = wait_until(lambda: simulated.get("job", "migrate-1", namespace), 60, "the run's Job")
    by_name = adhoc_cli(simulated, namespace, "plan", "migrate")
    assert by_name.returncode == 0, by_name.stderr
    planned_job = yaml.safe_load(by_name.stdout)
    assert planned_job["metadata"]["name"] == "migrate-1"
    [ours] = planned_job["spec"]["template"]["spec"]["containers"]
    [theirs] = created["spec"]["template"]["spec"]["containers"]
    for field in ("image", "command", "env", "envFrom", "volumeMounts", "securityContext"):
        assert ours.get(field) == theirs.get(field), field


def test_plan_of_a_bad_file_is_one_clear_line(simulated: Cluster, namespace: str, tmp_path: Path):
    file = tmp_path / "bad.yaml"
    file.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    result = adhoc_cli(simulated, namespace, "plan", "-f", str(file))
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "not an AdhocCommand" in result.stderr and "Traceback" not in result.stderr


def test_a_run_outlives_its_credential_and_kubectls_usual_flags_work(
    real_node: Cluster, namespace: str, tmp_path: Path
):
    """A cloud token expires during a long `run` (about 15 minutes on EKS): here the token the
    exec plugin handed out is revoked mid-run, and the plugin logs in again and goes on. Also
    kubectl's --as (impersonation) and its durations."""
    real_node.kubectl("-n", namespace, "create", "serviceaccount", "runner")
    real_node.kubectl(
        "-n", namespace, "create", "rolebinding", "runner", "--clusterrole=edit", f"--serviceaccount={namespace}:runner"
    )
    credential = ExecCredential(real_node, tmp_path, namespace, "runner")
    command = adhoc_command(
        real_node, namespace, "run", "long", "--timeout", "1.5m", *ON_REAL, "--", "sleep 10; echo made it",
        kubeconfig=credential.kubeconfig,
    )  # fmt: skip
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=plugin_env())
    wait_until(lambda: status_of(real_node, namespace, "long").get("phase") == "Running", 60, "the run")
    old_token, old_secret = credential.token, credential.secrets[-1]
    credential.mint()
    calls = credential.calls
    credential.revoke(old_token, old_secret)
    out, err = running.communicate(timeout=120)
    assert (running.returncode, out) == (0, "made it\n"), err
    assert credential.calls > calls  # it ran the exec plugin again
    assert real_node.must_get("adhoc", "long", namespace)["spec"]["timeoutSeconds"] == 90  # 1.5m, as Go parses it

    nobody = f"system:serviceaccount:{namespace}:nobody"
    as_nobody = [real_node.kubectl_path, "adhoc", "--as", nobody, "--kubeconfig", str(real_node.kubeconfig)]
    refused = subprocess.run(
        [*as_nobody, "-n", namespace, "history", "long"], capture_output=True, text=True, env=plugin_env()
    )
    assert refused.returncode == 1 and "forbidden" in refused.stderr and nobody in refused.stderr, refused.stderr


def running_now(cluster: Cluster, namespace: str, name: str) -> bool:
    return status_of(cluster, namespace, name).get("phase") == "Running"


def gone(cluster: Cluster, namespace: str, name: str) -> bool:
    return cluster.get("adhoc", name, namespace) is None


def test_ctrl_c_asks_whether_to_cancel_and_honours_rm(simulated: Cluster, namespace: str, sim_output):
    sim_output(namespace, b"working\n")
    overrides = json.dumps({"spec": {"podMetadata": sim(duration="600s")}})
    for answer, name in (("n", "kept"), ("y", "stopped")):
        controller, terminal = pty.openpty()  # a terminal: the plugin asks
        command = adhoc_command(simulated, namespace, "run", name, "--rm", "--overrides", overrides, "--", "./long")
        running = subprocess.Popen(
            command, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=plugin_env()
        )
        wait_until(functools.partial(running_now, simulated, namespace, name), 60, "the run")
        running.send_signal(signal.SIGINT)
        os.write(controller, f"{answer}\n".encode())
        _, err = running.communicate(timeout=60)
        os.close(controller)
        os.close(terminal)
        assert running.returncode == 130, err
        if answer == "n":
            assert b"goes on" in err and status_of(simulated, namespace, name)["phase"] == "Running"
        else:
            assert b"cancelled and deleted" in err
            wait_until(functools.partial(gone, simulated, namespace, name), 60, "the run removed (--rm)")


def test_output_formats_and_the_request_timeout_as_kubectls(simulated: Cluster, namespace: str, tmp_path: Path):
    """-o name|json|yaml print the object a command made or changed, for scripts; history and plan
    print theirs as JSON or YAML; --request-timeout limits each call and says so in one line."""
    created = adhoc_cli(simulated, namespace, "run", "fmt", "--detach", "-o", "name", "--", "echo hi")
    assert (created.returncode, created.stdout) == (0, "adhoccommand.orchestrator.dev/fmt\n"), created.stderr
    wait_until(lambda: status_of(simulated, namespace, "fmt").get("phase") == "Succeeded", 60, "fmt to succeed")

    [run] = json.loads(adhoc_cli(simulated, namespace, "history", "fmt", "-o", "json").stdout)
    assert (run["generation"], run["phase"], run["exitCode"], run["output"]) == (1, "Succeeded", 0, "fmt-logs")
    rerun = adhoc_cli(simulated, namespace, "rerun", "fmt", "-o", "yaml")
    assert yaml.safe_load(rerun.stdout)["metadata"]["generation"] == 2, rerun.stderr
    job = json.loads(adhoc_cli(simulated, namespace, "plan", "fmt", "-o", "json").stdout)
    assert job["kind"] == "Job" and job["metadata"]["name"] == "fmt-2"
    assert adhoc_cli(simulated, namespace, "plan", "fmt", "-o", "name").stdout == "job.batch/fmt-2\n"

    # An API server that accepts the connection and never answers: one line that says what
    # happened, with the option before the command (as kubectl users put it) or after it.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        config = yaml.safe_load(simulated.kubeconfig.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = f"https://127.0.0.1:{silent.getsockname()[1]}"
        hung = tmp_path / "hung.kubeconfig"
        hung.write_text(yaml.safe_dump(config))
        for args in (("--request-timeout", "1s", "history", "fmt"), ("history", "fmt", "--request-timeout", "1s")):
            slow = subprocess.run(
                [simulated.kubectl_path, "adhoc", "--kubeconfig", str(hung), "-n", namespace, *args],
                capture_output=True,
                text=True,
                timeout=60,
                env=plugin_env(),
            )
            assert slow.returncode == 1 and slow.stdout == "", slow.stdout
            assert slow.stderr.splitlines() == [
                "error: the Kubernetes API did not answer in time (the request's time limit)"
            ]
