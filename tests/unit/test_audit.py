"""make lint's dependency audit (hack/audit.py): what it says and when it fails."""

from __future__ import annotations

import pytest

from hack.audit import verdict

VULN = {"id": "PYSEC-2026-1", "fix_versions": ["3.14.6"]}


@pytest.mark.parametrize(
    ("dependencies", "code", "says"),
    [
        (
            [{"name": "aiohttp", "version": "3.14.5", "vulns": [VULN]}],
            1,
            "aiohttp 3.14.5: PYSEC-2026-1 (fixed in 3.14.6)",
        ),
        (
            [{"name": "a", "version": "1", "vulns": []}, {"name": "b", "skip_reason": "not found"}],
            0,
            "in 1 pins (1 could",
        ),
        ([{"name": "a", "skip_reason": "offline"}, {"name": "b", "skip_reason": "offline"}], 0, "skipped, no advisory"),
        ([{"name": "a", "version": "1", "vulns": [{"id": "GHSA-x", "fix_versions": []}]}], 1, "(fixed in none yet)"),
    ],
)
def test_a_known_vulnerability_fails_the_lint_and_an_offline_audit_says_it_skipped(dependencies, code, says):
    returned, lines = verdict(dependencies)
    assert returned == code and says in "\n".join(lines)
