import re

import pytest

from orchestrator.model.names import job_name, label_value, labels_for, logs_configmap_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize("name", ["zen", "a" * 63, "b" * 253, "db.migrate.v2", "x" * 200 + ".y" * 26])
@pytest.mark.parametrize("generation", [1, 7, 123456789])
def test_job_names_are_dns_labels_of_at_most_63(name, generation):
    result = job_name(name, generation)
    assert len(result) <= 63
    assert DNS_LABEL.match(result), result
    assert result.endswith(f"-{generation}")
    assert result == job_name(name, generation)  # deterministic


def test_short_names_stay_readable():
    assert job_name("zen", 1) == "zen-1"
    assert logs_configmap_name("zen") == "zen-logs"
    assert label_value("zen") == "zen"


def test_long_names_that_share_a_prefix_stay_apart():
    a, b = "p" * 240 + "a", "p" * 240 + "b"
    assert job_name(a, 1) != job_name(b, 1)
    assert logs_configmap_name(a) != logs_configmap_name(b)
    assert label_value(a) != label_value(b)
    assert len(logs_configmap_name(a)) <= 253
    assert len(label_value(a)) <= 63


def test_names_differing_only_in_dots_get_different_jobs():
    assert job_name("a.b", 1) != job_name("a-b", 1)


def test_labels_lead_back_to_the_adhoccommand():
    labels = labels_for("zen", "uid-1", 3)
    assert labels["orchestrator.dev/adhoccommand"] == "zen"
    assert labels["orchestrator.dev/adhoccommand-uid"] == "uid-1"
    assert labels["orchestrator.dev/generation"] == "3"
