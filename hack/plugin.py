"""make plugin: kubectl adhoc as krew installs it. An archive per platform in dist/ (the plugin as
one executable zip, built by pex, that needs only python3 on PATH, and the LICENSE), and
dist/adhoc.yaml: plugins/adhoc.yaml with each archive's sha256 (and address) filled in.

  python hack/plugin.py [--platforms linux/amd64,darwin/arm64] [--base-url URL] [--out dist]

Each archive carries the compiled wheels (pydantic-core, which the `kubernetes` package needs,
PyYAML, aiohttp) for CPython 3.11 to 3.14 on its platform; pex picks the ones of the python3 it
finds. Downloads are cached under ~/.cache/orchestrator/pex.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PLATFORMS = ("linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64")
PYTHONS = ("311", "312", "313", "314")
# What the plugin imports beyond its own package (not kopf, FastAPI or uvicorn: the operator's
# and the REST API's), at the versions requirements.txt pins.
NEEDS = ("click", "durationpy", "PyYAML", "kubernetes", "aiohttp")
# pex's names for the wheels' platform tags (macOS 11 and newer).
PEX_PLATFORM = {
    "linux/amd64": "linux_x86_64",
    "linux/arm64": "linux_aarch64",
    "darwin/amd64": "macosx_11_0_x86_64",
    "darwin/arm64": "macosx_11_0_arm64",
}
CACHE = Path(os.environ.get("ORCH_CACHE", Path.home() / ".cache" / "orchestrator")) / "pex"


def archive_name(platform: str) -> str:
    return "kubectl-adhoc_" + platform.replace("/", "_") + ".tar.gz"


def build_pex(platform: str, target: Path) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as needs:
        needs.write("\n".join(NEEDS) + "\n")
        needs.flush()
        platforms = [f"--platform={PEX_PLATFORM[platform]}-cp-{v}-cp{v}" for v in PYTHONS]
        command = [
            str(Path(sys.executable).parent / "pex"),
            *("-r", needs.name, "--constraints", str(REPO / "requirements.txt")),
            *("-D", str(REPO / "operator")),  # the package's source, without its own dependencies
            *("-e", "orchestrator.plugin:entry", "--python-shebang", "/usr/bin/env python3"),
            *platforms,
            *("--pex-root", str(CACHE), "--no-emit-warnings", "-o", str(target)),
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def tar_gz(members: dict[str, tuple[bytes, int]]) -> bytes:
    """A tar.gz of the same bytes for the same files: no times, owners or order of the disk."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in sorted(members):
            data, mode = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def inputs_key() -> str:
    """What an archive is made of: the package's files, the pins, this script, the license."""
    digest = hashlib.sha256()
    files = [p for p in sorted((REPO / "operator" / "orchestrator").rglob("*")) if p.is_file()]
    files = [p for p in files if "__pycache__" not in p.parts]
    for path in [*files, REPO / "requirements.txt", REPO / "LICENSE", Path(__file__)]:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def archive(platform: str) -> bytes:
    """The platform's archive: built, or taken from the cache when nothing it is made of changed
    (a build takes a minute or two: pip resolving for four Pythons, pex zipping)."""
    cached = CACHE / "archives" / inputs_key() / archive_name(platform)
    if cached.exists():
        return cached.read_bytes()
    data = build_archive(platform)
    for old in cached.parent.parent.glob("*"):  # archives of earlier sources
        if old != cached.parent:
            shutil.rmtree(old, ignore_errors=True)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.with_suffix(".part").write_bytes(data)
    cached.with_suffix(".part").rename(cached)
    return data


def build_archive(platform: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        pex = Path(tmp) / "kubectl-adhoc"
        build_pex(platform, pex)
        members = {"kubectl-adhoc": (pex.read_bytes(), 0o755), "LICENSE": ((REPO / "LICENSE").read_bytes(), 0o644)}
    return tar_gz(members)


def manifest(hashes: dict[str, str], base_url: str | None) -> dict:
    plugin = yaml.safe_load((REPO / "plugins" / "adhoc.yaml").read_text())
    kept = []
    for entry in plugin["spec"]["platforms"]:
        name = entry["uri"].rsplit("/", 1)[1]
        if name not in hashes:
            continue
        entry["sha256"] = hashes[name]
        if base_url:
            entry["uri"] = f"{base_url.rstrip('/')}/{name}"
        kept.append(entry)
    plugin["spec"]["platforms"] = kept
    return plugin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platforms", default=",".join(PLATFORMS))
    parser.add_argument("--base-url", help="where the archives are served (default: the release's)")
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    args = parser.parse_args()
    platforms = [p for p in args.platforms.split(",") if p]
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown:
        raise SystemExit(f"unknown platform {', '.join(unknown)}: one of {', '.join(PLATFORMS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    # Two at a time: each is mostly pip resolving and pex zipping, one core each.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(platforms, pool.map(archive, platforms), strict=True))
    hashes = {}
    for platform, data in built.items():
        name = archive_name(platform)
        (args.out / name).write_bytes(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
        print(f"{args.out / name}: {len(data) / 2**20:.1f} MiB, sha256 {hashes[name]}")
    (args.out / "adhoc.yaml").write_text(yaml.safe_dump(manifest(hashes, args.base_url), sort_keys=False))
    print(f"{args.out / 'adhoc.yaml'}: the krew manifest of these archives")


if __name__ == "__main__":
    main()
