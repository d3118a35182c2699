"""kubectl adhoc as krew users get it: the manifest passes krew-index's check (each platform's
archive installs and carries its license), and on this machine `kubectl krew install` puts the
plugin into an empty bin dir, from which it runs a command on the real node with only python3
(the system's, not the tests' venv) beside kubectl on PATH."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hack.harness import REPO, Cluster, kubeconfig_for, token_for, versions
from tests.cluster.helpers import ON_REAL_NODE

pytestmark = pytest.mark.usefixtures("operator")
KREW = Path(versions("KREW_DIR"))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The archives and manifest `make plugin` writes, served over HTTP as a release would be."""
    out = tmp_path_factory.mktemp("dist")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    subprocess.run([sys.executable, str(REPO / "hack" / "plugin.py"), "--out", str(out), "--base-url", url], check=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, url
    server.shutdown()


def path_with(*dirs: Path | str) -> str:
    return os.pathsep.join(str(d) for d in dirs)


def test_the_manifest_passes_krew_indexs_check(release: tuple[Path, str], cluster: Cluster, tmp_path: Path):
    out, _ = release
    manifest = yaml.safe_load((out / "adhoc.yaml").read_text())
    assert {
        (p["selector"]["matchLabels"]["os"], p["selector"]["matchLabels"]["arch"])
        for p in manifest["spec"]["platforms"]
    } == {
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
    }
    # It installs every platform's archive through `kubectl krew install` (found on PATH).
    env = {"PATH": path_with(KREW, Path(cluster.kubectl_path).parent, "/usr/bin", "/bin"), "HOME": str(tmp_path)}
    check = subprocess.run(
        [str(KREW / "validate-krew-manifest"), "-manifest", str(out / "adhoc.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert "all 4 spec.platforms installed fine" in check.stderr


def test_krew_installs_it_and_it_runs_a_command(
    release: tuple[Path, str], real_node: Cluster, namespace: str, tmp_path: Path
):
    out, _ = release
    root, bin_dir = tmp_path / "krew", tmp_path / "krew" / "bin"
    kubectl_dir = Path(real_node.kubectl_path).parent
    env = {"PATH": path_with(KREW, kubectl_dir, "/usr/bin", "/bin"), "HOME": str(tmp_path), "KREW_ROOT": str(root)}
    archive = out / "kubectl-adhoc_linux_amd64.tar.gz"
    installed = subprocess.run(
        [real_node.kubectl_path, "krew", "install", f"--manifest={out / 'adhoc.yaml'}", f"--archive={archive}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    assert sorted(p.name for p in bin_dir.iterdir()) == ["kubectl-adhoc"]

    # A user of the namespace, their kubeconfig, and a PATH of krew's bin, kubectl and the system.
    kubeconfig = kubeconfig_for(
        real_node, tmp_path / "user", {"token": token_for(real_node, namespace, "krew-user", "edit")}
    )
    user_env = {
        "PATH": path_with(bin_dir, kubectl_dir, "/usr/bin", "/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
    }
    overrides = json.dumps({"spec": ON_REAL_NODE})
    hi = subprocess.run(
        [real_node.kubectl_path, "adhoc", "-n", namespace, "run", "hi", "--overrides", overrides, "--", "echo", "hi"],
        capture_output=True,
        text=True,
        env=user_env,
        timeout=180,
    )
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi.stderr
    assert real_node.must_get("adhoc", "hi", namespace)["status"]["phase"] == "Succeeded"
