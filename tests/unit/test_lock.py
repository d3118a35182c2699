"""requirements.lock (make lock) holds exactly requirements.txt's pins, each with hashes: the
image's `pip install --require-hashes` installs nothing else."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.M)


def pins(text: str) -> set[tuple[str, str]]:
    return {(re.sub(r"[-_.]+", "-", name).lower(), version) for name, version in PIN.findall(text)}


def test_the_lock_pins_what_requirements_pins_each_with_its_hashes():
    lock = (REPO / "requirements.lock").read_text()
    assert pins(lock) == pins((REPO / "requirements.txt").read_text()), "make lock"
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.strip())
    assert entries and all("--hash=sha256:" in entry for entry in entries if PIN.match(entry))
    assert "--find-links" not in lock and "--index-url" not in lock  # this machine's pip settings stay here
