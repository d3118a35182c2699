#!/usr/bin/env python3
"""make lint's dependency audit: pip-audit of the runtime pins (requirements.txt) against PyPI's
advisory data. Fails on a known vulnerability; when no advisory source answers (an offline
machine, a mirror without PyPI's JSON API) it says so in one line and passes, naming how many
pins went unaudited, so the lint stays usable offline.

  python hack/audit.py [REQUIREMENTS]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    requirements = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "requirements.txt")
    command = [
        sys.executable, "-m", "pip_audit", "--requirement", requirements, "--no-deps", "--disable-pip",
        "--progress-spinner", "off", "--format", "json",
    ]  # fmt: skip
    ran = subprocess.run(command, capture_output=True, text=True, timeout=300)
    try:
        dependencies = json.loads(ran.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"pip-audit: skipped, no advisory source answered ({ran.stderr.strip().splitlines()[-1:]})")
        return 0
    code, lines = verdict(dependencies)
    print("\n".join(lines))
    return code


def verdict(dependencies: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """pip-audit's findings as (exit code, lines to print): 1 on any known vulnerability."""
    lines = [
        f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} "
        f"(fixed in {', '.join(vuln.get('fix_versions') or []) or 'none yet'})"
        for dep in dependencies
        for vuln in dep.get("vulns") or []
    ]
    if lines:
        return 1, lines
    skipped = sum(1 for d in dependencies if d.get("skip_reason"))
    if skipped == len(dependencies):
        return 0, [f"pip-audit: skipped, no advisory source answered for any of the {skipped} pins"]
    audited = len(dependencies) - skipped
    return 0, [f"pip-audit: no known vulnerability in {audited} pins ({skipped} could not be audited)"]


if __name__ == "__main__":
    sys.exit(main())
