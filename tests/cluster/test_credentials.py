"""How the operator logs in: the tests' operator runs under a kubeconfig whose user is an exec
credential plugin (as GKE, EKS and AKS kubeconfigs log in), and a credential revoked in the
middle of a run is fetched again."""

from __future__ import annotations

from hack.harness import Cluster, ExecCredential, Operator, wait_until
from tests.cluster.helpers import adhoc, sim, status_of, stored_output, wait_phase


def test_operator_logs_in_through_an_exec_plugin(operator: Operator, operator_credential: ExecCredential):
    assert operator.healthy()
    assert operator_credential.calls >= 1  # the only credential it has comes from the plugin


def test_a_revoked_credential_is_fetched_again_and_the_run_goes_on(
    operator: Operator,
    operator_credential: ExecCredential,
    simulated: Cluster,
    namespace: str,
    sim_output,
):
    credential = operator_credential
    sim_output(namespace, b"still here\n")
    simulated.apply(adhoc("long", command="sleep 20", podMetadata=sim(duration="20s")), namespace)
    wait_until(lambda: status_of(simulated, namespace, "long").get("jobName"), 30, "the run's Job")

    old_token, old_secret = credential.token, credential.secrets[-1]
    credential.mint()
    calls = credential.calls
    credential.revoke(old_token, old_secret)  # mid-run: the operator's next call is refused

    status = wait_phase(simulated, namespace, "long", timeout=120)
    assert status["phase"] == "Succeeded" and status["exitCode"] == 0
    assert stored_output(simulated, namespace, "long") == b"still here\n"
    assert credential.calls > calls, "the operator never ran the plugin again"

    simulated.apply(adhoc("after", command="true"), namespace)  # and it goes on with the new one
    assert wait_phase(simulated, namespace, "after")["phase"] == "Succeeded"
    assert operator.healthy()
