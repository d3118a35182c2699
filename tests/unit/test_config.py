import pytest

from orchestrator.model.config import Config, ConfigError, from_env, from_settings, pod_defaults_from


def test_defaults_without_environment():
    assert from_env({}) == Config()


def test_settings_from_environment():
    cfg = from_env(
        {
            "ORCHESTRATOR_DEFAULT_IMAGE": "img:1",
            "ORCHESTRATOR_RUN_AS_USER": "1000",
            "ORCHESTRATOR_STATUS_INTERVAL_SECONDS": "2.5",
        }
    )
    assert (cfg.image, cfg.run_as_user, cfg.status_interval_seconds) == ("img:1", 1000, 2.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("{}", {}),
        ('{"nodeSelector": {"pool": "batch"}}', {"nodeSelector": {"pool": "batch"}}),
        (
            "nodeSelector: {pool: batch}\npriorityClassName: low\n",
            {"nodeSelector": {"pool": "batch"}, "priorityClassName": "low"},
        ),
        ("imagePullSecrets: [a, {name: b}]", {"imagePullSecrets": [{"name": "a"}, {"name": "b"}]}),
        ("resources: {requests: {cpu: 1, memory: 64Mi}}", {"resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}),
        ("tolerations: [{key: k, operator: Exists}]", {"tolerations": [{"key": "k", "operator": "Exists"}]}),
        ("nodeSelector: null", {}),
    ],
)
def test_pod_defaults_parse(text, expected):
    assert dict(pod_defaults_from(text)) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[1, 2]", "must be a mapping"),
        ("nodeSelectors: {a: b}", "unknown field 'nodeSelectors'"),
        ("nodeSelector: {a: 1}", "ORCHESTRATOR_POD_DEFAULTS.nodeSelector"),
        ("tolerations: {key: k}", "ORCHESTRATOR_POD_DEFAULTS.tolerations"),
        ("tolerations: [{keys: k}]", "tolerations[0]: unknown field 'keys'"),
        ("priorityClassName: ''", "ORCHESTRATOR_POD_DEFAULTS.priorityClassName"),
        ("imagePullSecrets: [{}]", "imagePullSecrets[0]"),
        ("resources: {request: {cpu: 1}}", "ORCHESTRATOR_POD_DEFAULTS.resources"),
        ("resources: {limits: [1]}", "ORCHESTRATOR_POD_DEFAULTS.resources.limits"),
        ("{a: [}", "not YAML or JSON"),
    ],
)
def test_bad_pod_defaults_name_the_field(text, names):
    with pytest.raises(ConfigError, match=names.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        pod_defaults_from(text)


@pytest.mark.parametrize("env", [{"ORCHESTRATOR_RUN_AS_USER": "root"}, {"ORCHESTRATOR_SETTLE_SECONDS": "soon"}])
def test_bad_numbers_name_the_variable(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        from_env(env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("team-a", ("team-a",)),
        ("team-a,team-b", ("team-a", "team-b")),
        (" team-a , team-b team-a ", ("team-a", "team-b")),
    ],
)
def test_namespaces_to_serve(text, expected):
    assert from_env({"ORCHESTRATOR_NAMESPACES": text}).namespaces == expected


@pytest.mark.parametrize("text", ["Team_A", "team-a,-b", "a" * 64])
def test_bad_namespaces_name_the_variable(text):
    with pytest.raises(ConfigError, match=r"ORCHESTRATOR_NAMESPACES: .* is not a namespace name"):
        from_env({"ORCHESTRATOR_NAMESPACES": text})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (900000, 100)),
        ({"ORCHESTRATOR_MAX_LOG_BYTES": "65536", "ORCHESTRATOR_MAX_HISTORY": "3"}, (65536, 3)),
        ({"ORCHESTRATOR_MAX_HISTORY": "0"}, (900000, 0)),
        ({"ORCHESTRATOR_MAX_LOG_BYTES": "0"}, "ORCHESTRATOR_MAX_LOG_BYTES: 0 is not between 1 and 900000"),
        ({"ORCHESTRATOR_MAX_LOG_BYTES": "900001"}, "ORCHESTRATOR_MAX_LOG_BYTES: 900001 is not between"),
        ({"ORCHESTRATOR_MAX_HISTORY": "101"}, "ORCHESTRATOR_MAX_HISTORY: 101 is not between 0 and 100"),
        ({"ORCHESTRATOR_MAX_HISTORY": "many"}, "ORCHESTRATOR_MAX_HISTORY: 'many' is not a whole number"),
    ],
)
def test_admin_caps(env, expected):
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected):
            from_env(env)
    else:
        cfg = from_env(env)
        assert (cfg.max_log_bytes, cfg.max_history) == expected


@pytest.mark.parametrize(
    ("data", "image", "max_history"),
    [
        ({}, Config().image, Config().max_history),
        ({"defaultImage": "registry.example/runner:1", "maxHistory": "3"}, "registry.example/runner:1", 3),
        ({"defaultImage": "", "maxLogBytes": ""}, Config().image, Config().max_history),  # empty keys: the defaults
    ],
)
def test_the_operators_configmap_gives_the_same_settings_as_its_environment(data, image, max_history):
    config = from_settings(data)
    assert (config.image, config.max_history) == (image, max_history)


def test_a_bad_setting_in_the_configmap_names_its_variable():
    with pytest.raises(ConfigError, match="ORCHESTRATOR_MAX_HISTORY"):
        from_settings({"maxHistory": "many"})


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/services/T/B/secret", True),
        ("http://127.0.0.1:8080/hook", True),
        ("http://localhost/hook", True),
        ("http://receiver.monitoring.svc/hook", False),  # the URL may be the credential: never in clear text
        ("ftp://example.com/x", False),
        ("https://", False),
    ],
)
def test_the_notification_url_is_https_or_local(url, ok):
    if ok:
        assert from_env({"ORCHESTRATOR_NOTIFY_URL": url}).notify_url == url
    else:
        with pytest.raises(ConfigError, match="ORCHESTRATOR_NOTIFY_URL"):
            from_env({"ORCHESTRATOR_NOTIFY_URL": url})


def test_the_notification_format_is_one_of_two():
    assert from_env({}).notify_format == "cloudevents"
    assert from_settings({"notifyFormat": "slack"}).notify_format == "slack"
    with pytest.raises(ConfigError, match="ORCHESTRATOR_NOTIFY_FORMAT"):
        from_env({"ORCHESTRATOR_NOTIFY_FORMAT": "email"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, None),  # no deadline unless one is configured
        ({"defaultTimeoutSeconds": "3600"}, 3600),
        ({"defaultTimeoutSeconds": "0"}, "ORCHESTRATOR_DEFAULT_TIMEOUT_SECONDS: 0 is not between 1 and"),
        ({"defaultTimeoutSeconds": "1h"}, "ORCHESTRATOR_DEFAULT_TIMEOUT_SECONDS: '1h' is not a whole number"),
    ],
)
def test_a_default_timeout_from_the_configmap(data, expected):
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected):
            from_settings(data)
    else:
        assert from_settings(data).default_timeout_seconds == expected


def test_the_uid_of_command_pods_may_be_left_to_the_platform():
    assert from_env({}).run_as_user == 65532
    assert from_env({"ORCHESTRATOR_RUN_AS_USER": "1000"}).run_as_user == 1000
    assert from_env({"ORCHESTRATOR_RUN_AS_USER": "platform"}).run_as_user is None  # OpenShift's SCC assigns it


@pytest.mark.parametrize(("value", "on"), [(None, False), ("", False), ("true", True), ("false", False)])
def test_success_events_are_off_unless_turned_on(value, on):
    env = {} if value is None else {"ORCHESTRATOR_SUCCESS_EVENTS": value}
    assert from_env(env).success_events is on


def test_success_events_take_true_or_false_only():
    with pytest.raises(ConfigError, match="ORCHESTRATOR_SUCCESS_EVENTS"):
        from_env({"ORCHESTRATOR_SUCCESS_EVENTS": "yes"})


def test_success_events_are_a_setting_of_the_operators_configmap():
    """`kubectl adhoc plan` reads the same key the operator's pod gets as ORCHESTRATOR_SUCCESS_EVENTS."""
    assert from_settings({"successEvents": "true"}).success_events is True
    assert from_settings({"successEvents": "false"}).success_events is False
