"""The layers hold (run by `make lint`): the package's folders are its architecture.

    orchestrator/model      pure: spec rules, names, paths, the Job, status, output, history
    orchestrator/kube       Kubernetes clients and login (the operator's own; one acting as a caller)
    orchestrator/operator   kopf's host (handlers.py), informers, cache, queue, reconciler, leader
    orchestrator/rest       the REST API and its web page
    orchestrator/plugin     the kubectl plugin

Each package imports only the packages below it (model at the bottom, kube above it; operator,
rest and plugin side by side on top, none importing another). Pure modules compute and never
reach I/O, directly or through other modules; they are tested by tables of cases.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "operator" / "orchestrator"
# What each package may import of the others (its own modules always).
MAY_IMPORT = {
    "model": set(),
    "kube": {"model"},
    "operator": {"model", "kube"},
    "rest": {"model", "kube"},
    "plugin": {"model", "kube"},
}
PURE = [f"model.{p.stem}" for p in sorted((PACKAGE / "model").glob("*.py")) if p.stem != "__init__"] + [
    "operator.cache",
    "operator.recent",
    "operator.world",
    "rest.models",
]
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
    "orchestrator.operator.handlers",
    "orchestrator.operator.reconcile",
    "orchestrator.operator.workqueue",
    "orchestrator.rest.app",
}
KUBE = "orchestrator.kube"  # every Kubernetes client


def module_path(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")).with_suffix(".py")


def imports_of(module: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module_path(module).read_text())):
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
                if module_path(inner).exists():
                    todo.append(inner)
    return seen


def test_every_module_lives_in_a_layer():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert not loose, f"modules outside the layers: {loose}"
    assert packages == set(MAY_IMPORT), packages


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_below_it(layer: str):
    allowed = {layer, *MAY_IMPORT[layer]}
    wrong = []
    for path in sorted((PACKAGE / layer).glob("*.py")):
        module = f"{layer}.{path.stem}"
        for name in imports_of(module):
            parts = name.split(".")
            if parts[0] == "orchestrator" and len(parts) > 1 and parts[1] in MAY_IMPORT and parts[1] not in allowed:
                wrong.append(f"orchestrator.{module} imports {name}")
    assert not wrong, wrong


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str):
    reached = reach(module)
    bad = sorted(
        name for name in reached if name in IO or name.split(".")[0] in IO or name.startswith("orchestrator.kube")
    )
    assert not bad, f"orchestrator.{module} (pure) reaches I/O: {bad}"


# HTTP clients by module: transport.py is the one to the Kubernetes API; the notifier posts to
# the receivers users configure (never the Kubernetes API), the benchmark's load generator is
# a client of the REST API.
HTTP = {"aiohttp", "httpx", "requests", "urllib.request", "http.client"}
HTTP_ALLOWED = {"kube/transport.py", "operator/notifier.py"}


def test_kubernetes_is_called_through_one_transport():
    def speaks_http(path: Path) -> bool:
        names = imports_of(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        return any(name == h or name.startswith(f"{h}.") for name in names for h in HTTP)

    speaking = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py") if speaks_http(path))
    assert set(speaking) <= HTTP_ALLOWED, f"HTTP clients outside kube/transport.py: {speaking}"


API_PATH = re.compile(r"""["'/](api/v1|apis/[a-z0-9.-]+/v\d)""")


def test_no_kubernetes_path_is_built_outside_the_path_table():
    """model/paths.py builds every path (checked, escaped); a path written elsewhere would skip it."""
    roots = [PACKAGE, PACKAGE.parents[1] / "bench", PACKAGE.parents[1] / "hack"]
    written = sorted(
        f"{path.relative_to(PACKAGE.parents[1])}:{n}"
        for root in roots
        for path in root.rglob("*.py")
        if path != PACKAGE / "model" / "paths.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if API_PATH.search(line) and "apiVersion" not in line
    )
    assert not written, written
