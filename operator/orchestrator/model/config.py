"""The operator's configuration, read once from the environment at startup (pure: it is given
the environment)."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from orchestrator.model.paths import is_namespace_name
from orchestrator.model.spec import HISTORY_LIMIT_MAX, LOGS_MAX_BYTES_LIMIT, TIMEOUT_MAX, TIMEOUT_MIN

DEFAULT_IMAGE = "python:3.13-slim"
DEFAULT_RUN_AS_USER = 65532  # the "nonroot" uid of distroless images; any non-zero uid works
# Fields of a command's pod that a cluster admin may default (e.g. to a batch node pool): the
# ones a command does not set come from here.
POD_DEFAULT_FIELDS = ("nodeSelector", "tolerations", "priorityClassName", "imagePullSecrets", "resources")
POD_DEFAULTS_ENV = "ORCHESTRATOR_POD_DEFAULTS"
NAMESPACES_ENV = "ORCHESTRATOR_NAMESPACES"
NOTIFY_URL_ENV = "ORCHESTRATOR_NOTIFY_URL"
NOTIFY_FORMAT_ENV = "ORCHESTRATOR_NOTIFY_FORMAT"
NOTIFY_FORMATS = ("cloudevents", "slack")
SUCCESS_EVENTS_ENV = "ORCHESTRATOR_SUCCESS_EVENTS"


DEFAULT_TIMEOUT_ENV = "ORCHESTRATOR_DEFAULT_TIMEOUT_SECONDS"


class ConfigError(ValueError):
    """A setting the operator cannot use; the message names it."""


@dataclasses.dataclass(frozen=True)
class Config:
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    # Images that run as root by default still start under the restricted standard.
    run_as_user: int | None = DEFAULT_RUN_AS_USER  # None: the platform's (ORCHESTRATOR_RUN_AS_USER=platform)
    # Seconds a Job or Pod change waits for the changes that follow it, so that they make one
    # status write; changes of the AdhocCommand itself (a new run) are handled at once.
    settle_seconds: float = 0.2
    # Bounded retries of transient API errors for one reconciliation.
    api_retries: int = 6
    # Least seconds between a run's start and its first status write, and between two status
    # writes of a run under way (ten times this when only counts or times changed); the Job
    # controller batches its own updates the same way. The final status is written at once.
    status_interval_seconds: float = 1.0
    # The Lease whose holder is the one replica that acts (leader election).
    lease_namespace: str = "orchestrator"
    lease_name: str = "orchestrator"
    # Where /metrics is served (Prometheus text); port 0: not at all.
    metrics_port: int = 9090
    metrics_address: str = "0.0.0.0"
    # The namespaces whose AdhocCommands it runs (with namespaced RBAC); empty: all of them.
    # kopf's own watch takes the same list as --namespace flags (the Helm chart sets both).
    namespaces: tuple[str, ...] = ()
    # Defaults for the pods of commands that do not set these fields (POD_DEFAULT_FIELDS).
    pod_defaults: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    # Ceilings an admin may lower on what one AdhocCommand keeps in etcd: spec.logs.maxBytes and
    # spec.historyLimit above them are cut to them.
    max_log_bytes: int = LOGS_MAX_BYTES_LIMIT
    max_history: int = HISTORY_LIMIT_MAX
    # The timeoutSeconds of runs that set none (the proof of concept gave every Job a deadline);
    # None: no deadline.
    default_timeout_seconds: int | None = None
    # A webhook told when a run finishes (empty: none), as CloudEvents or a Slack message.
    notify_url: str = ""
    notify_format: str = "cloudevents"
    # A Normal Event for each run that succeeds, in `kubectl describe adhoc` and event-based
    # alerting. Off by default (issue 26): the status, its conditions, the Job's own Completed
    # event and the runs_finished metric tell it, and it would be one write in four a run. A run
    # that fails, times out or is refused always gets its Warning.
    success_events: bool = False


def from_env(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    base = Config()
    return Config(
        image=env.get("ORCHESTRATOR_DEFAULT_IMAGE") or base.image,
        image_pull_policy=env.get("ORCHESTRATOR_IMAGE_PULL_POLICY") or base.image_pull_policy,
        run_as_user=None
        if env.get("ORCHESTRATOR_RUN_AS_USER") == "platform"
        else _number(env, "ORCHESTRATOR_RUN_AS_USER", int, base.run_as_user),
        settle_seconds=_number(env, "ORCHESTRATOR_SETTLE_SECONDS", float, base.settle_seconds),
        api_retries=_number(env, "ORCHESTRATOR_API_RETRIES", int, base.api_retries),
        status_interval_seconds=_number(
            env, "ORCHESTRATOR_STATUS_INTERVAL_SECONDS", float, base.status_interval_seconds
        ),
        lease_namespace=env.get("ORCHESTRATOR_LEASE_NAMESPACE") or base.lease_namespace,
        lease_name=env.get("ORCHESTRATOR_LEASE_NAME") or base.lease_name,
        metrics_port=_number(env, "ORCHESTRATOR_METRICS_PORT", int, base.metrics_port),
        metrics_address=env.get("ORCHESTRATOR_METRICS_ADDRESS") or base.metrics_address,
        namespaces=namespaces_from(env.get(NAMESPACES_ENV) or ""),
        pod_defaults=pod_defaults_from(env.get(POD_DEFAULTS_ENV) or ""),
        max_log_bytes=_bounded(env, "ORCHESTRATOR_MAX_LOG_BYTES", 1, LOGS_MAX_BYTES_LIMIT),
        max_history=_bounded(env, "ORCHESTRATOR_MAX_HISTORY", 0, HISTORY_LIMIT_MAX),
        default_timeout_seconds=(
            _bounded(env, DEFAULT_TIMEOUT_ENV, TIMEOUT_MIN, TIMEOUT_MAX) if env.get(DEFAULT_TIMEOUT_ENV) else None
        ),
        notify_url=notify_url_from(env.get(NOTIFY_URL_ENV) or ""),
        notify_format=_choice(env, NOTIFY_FORMAT_ENV, NOTIFY_FORMATS),
        success_events=_choice(env, SUCCESS_EVENTS_ENV, ("false", "true")) == "true",
    )


def notify_url_from(text: str) -> str:
    """ORCHESTRATOR_NOTIFY_URL: https, or http to this machine only (a webhook URL is often
    itself the credential, as Slack's are: it never travels in clear text off localhost)."""
    if not text:
        return ""
    url = urlsplit(text)
    local = url.hostname in ("localhost", "127.0.0.1", "::1")
    if (url.scheme != "https" and not (url.scheme == "http" and local)) or not url.hostname:
        raise ConfigError(f"{NOTIFY_URL_ENV}: must be an https:// URL (http:// only to localhost), not {text!r}")
    return text


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = env.get(name) or choices[0]
    if value not in choices:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


# The operator's ConfigMap (orchestrator-config) key -> the environment variable it sets.
SETTINGS = {
    "defaultImage": "ORCHESTRATOR_DEFAULT_IMAGE",
    "podDefaults": POD_DEFAULTS_ENV,
    "maxLogBytes": "ORCHESTRATOR_MAX_LOG_BYTES",
    "maxHistory": "ORCHESTRATOR_MAX_HISTORY",
    "defaultTimeoutSeconds": DEFAULT_TIMEOUT_ENV,
    "notifyFormat": NOTIFY_FORMAT_ENV,
    "successEvents": SUCCESS_EVENTS_ENV,
}


def from_settings(data: Mapping[str, str]) -> Config:
    """The configuration the operator's ConfigMap gives it (what `kubectl adhoc plan` reads)."""
    return from_env({env: data[key] for key, env in SETTINGS.items() if data.get(key)})


def _bounded(env: Mapping[str, str], name: str, least: int, most: int) -> int:
    value = _number(env, name, int, most)
    if not least <= value <= most:
        raise ConfigError(f"{name}: {value} is not between {least} and {most}")
    return int(value)


def namespaces_from(text: str) -> tuple[str, ...]:
    """ORCHESTRATOR_NAMESPACES: names separated by commas or spaces, e.g. "team-a,team-b"."""
    names = tuple(dict.fromkeys(n for n in re.split(r"[,\s]+", text) if n))
    for name in names:
        if not is_namespace_name(name):
            raise ConfigError(f"{NAMESPACES_ENV}: {name!r} is not a namespace name")
    return names


def _number(env: Mapping[str, str], name: str, kind: type[int] | type[float], default: Any) -> Any:
    text = env.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a {'whole ' if kind is int else ''}number") from None


def pod_defaults_from(text: str) -> Mapping[str, Any]:
    """Parses ORCHESTRATOR_POD_DEFAULTS (YAML or JSON), e.g.

    nodeSelector: {pool: batch}
    tolerations: [{key: pool, value: batch, effect: NoSchedule}]
    priorityClassName: low
    imagePullSecrets: [registry-creds]
    resources: {requests: {cpu: 100m, memory: 128Mi}}
    """
    if not text.strip():
        return MappingProxyType({})
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{POD_DEFAULTS_ENV}: not YAML or JSON: {' '.join(str(err).split())}") from None
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, dict):
        raise ConfigError(f"{POD_DEFAULTS_ENV}: must be a mapping of {', '.join(POD_DEFAULT_FIELDS)}")
    unknown = sorted(set(value) - set(POD_DEFAULT_FIELDS))
    if unknown:
        raise ConfigError(f"{POD_DEFAULTS_ENV}: unknown field {unknown[0]!r} (known: {', '.join(POD_DEFAULT_FIELDS)})")
    checks = {
        "nodeSelector": _string_map,
        "tolerations": _tolerations,
        "priorityClassName": _string,
        "imagePullSecrets": _pull_secrets,
        "resources": _resources,
    }
    return MappingProxyType({k: checks[k](v, f"{POD_DEFAULTS_ENV}.{k}") for k, v in value.items() if v is not None})


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{field}: must be a non-empty string")
    return value


def _string_map(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{field}: must be a map of strings to strings")
    return dict(value)


TOLERATION_FIELDS = {"key", "operator", "value", "effect", "tolerationSeconds"}


def _tolerations(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(f"{field}: must be a list of tolerations")
    for index, toleration in enumerate(value):
        unknown = sorted(set(toleration) - TOLERATION_FIELDS)
        if unknown:
            raise ConfigError(f"{field}[{index}]: unknown field {unknown[0]!r}")
    return [dict(t) for t in value]


def _pull_secrets(value: Any, field: str) -> list[dict[str, str]]:
    """A list of Secret names, or of {name: ...} as in a PodSpec."""
    if not isinstance(value, list):
        raise ConfigError(f"{field}: must be a list of Secret names")
    secrets = []
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else item
        secrets.append({"name": _string(name, f"{field}[{index}]")})
    return secrets


def _resources(value: Any, field: str) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or set(value) - {"requests", "limits"}:
        raise ConfigError(f"{field}: must have only requests and limits")
    return {k: {name: str(q) for name, q in _quantities(v, f"{field}.{k}").items()} for k, v in value.items()}


def _quantities(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(q, str | int | float) for q in value.values()):
        raise ConfigError(f"{field}: must map resource names to quantities")
    return value
