"""orchestrator: a kopf operator that runs AdhocCommands as Kubernetes Jobs and keeps their output."""

GROUP = "orchestrator.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "AdhocCommand"
PLURAL = "adhoccommands"
