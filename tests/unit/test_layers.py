"""The layers hold: pure modules never import I/O (run by `make lint`).

Pure modules compute (manifests, status, output, names, the cache); they are tested by tables
of cases. Only kube.py talks to the API server, credentials.py reads kubeconfigs and runs
credential plugins, handlers.py wires kopf, api/ serves HTTP.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "orchestrator"
PURE = ["cache", "config", "jobs", "names", "output", "runs", "spec", "status", "views", "world", "api.models"]
# What a pure module may not import, directly or through the package's other modules.
IO = {
    "aiohttp",
    "kopf",
    "httpx",
    "kubernetes",
    "fastapi",
    "uvicorn",
    "socket",
    "subprocess",
    "asyncio",
    "orchestrator.kube",
    "orchestrator.credentials",
    "orchestrator.handlers",
    "orchestrator.reconcile",
    "orchestrator.workqueue",
    "orchestrator.api.app",
    "orchestrator.api.upstream",
}


def imports_of(module: str) -> set[str]:
    path = PACKAGE.joinpath(*module.split(".")).with_suffix(".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reach(module: str) -> set[str]:
    """Everything `module` imports, following the package's own modules."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for name in imports_of(current):
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("orchestrator."):
                inner = name.removeprefix("orchestrator.")
                if PACKAGE.joinpath(*inner.split(".")).with_suffix(".py").exists():
                    todo.append(inner)
    return seen


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str):
    reached = reach(module)
    bad = sorted(name for name in reached if name in IO or name.split(".")[0] in IO)
    assert not bad, f"orchestrator.{module} (pure) reaches I/O: {bad}"
