#!/usr/bin/env python3
"""Packs a root filesystem directory into a single-layer OCI image archive that
`ctr images import` accepts (no registry and no Docker engine needed).

Usage: oci_image.py ROOTFS IMAGE_NAME OUT.tar [--cmd ARG ...] [--user UID]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = "1970-01-01T00:00:00Z"  # reproducible archives: the layer's mtimes are 0 too


def blob(data: bytes) -> tuple[str, int]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), len(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rootfs", type=Path)
    parser.add_argument("name", help="full image name, e.g. localhost/orchestrator/runner:bookworm")
    parser.add_argument("out", type=Path)
    parser.add_argument("--cmd", nargs="*", default=["/bin/sh"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        layer_path = Path(tmp) / "layer.tar"
        # GNU tar keeps owners, modes, links and special files exactly as in the root filesystem.
        subprocess.run(
            [
                "tar",
                "--numeric-owner",
                "--sort=name",
                "--mtime=@0",
                "-C",
                str(args.rootfs),
                "-cf",
                str(layer_path),
                ".",
            ],
            check=True,
        )
        layer = layer_path.read_bytes()
    layer_digest, layer_size = blob(layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": EPOCH,
            "config": {"Env": [f"PATH={PATH}"], "Cmd": args.cmd, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            # One entry per layer: buildah refuses to build FROM an image whose history and layers differ.
            "history": [{"created": EPOCH, "created_by": "hack/images/oci_image.py"}],
        },
        sort_keys=True,
    ).encode()
    config_digest, config_size = blob(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config_size,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}
            ],
        },
        sort_keys=True,
    ).encode()
    manifest_digest, manifest_size = blob(manifest)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_digest,
                    "size": manifest_size,
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": args.name,
                        "org.opencontainers.image.ref.name": args.name.rsplit(":", 1)[-1],
                    },
                }
            ],
        },
        sort_keys=True,
    ).encode()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial")
    with tarfile.open(partial, "w") as out:
        for name, data in [
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            ("index.json", index),
            (f"blobs/sha256/{config_digest[7:]}", config),
            (f"blobs/sha256/{manifest_digest[7:]}", manifest),
            (f"blobs/sha256/{layer_digest[7:]}", layer),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    partial.rename(args.out)


if __name__ == "__main__":
    main()
