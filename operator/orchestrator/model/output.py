"""Bounding a command's output and shaping the ConfigMap or Secret that stores it (pure)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from orchestrator import GROUP
from orchestrator.model.jobs import owner_reference
from orchestrator.model.names import labels_for, logs_configmap_name

OUTPUT_KEY = "output"
ANNOTATION_POD_UID = f"{GROUP}/pod-uid"
ANNOTATION_POD_NAME = f"{GROUP}/pod-name"
ANNOTATION_ATTEMPT = f"{GROUP}/attempt"
ANNOTATION_GENERATION = f"{GROUP}/generation"
ANNOTATION_BYTES = f"{GROUP}/bytes"
ANNOTATION_STORED = f"{GROUP}/stored-bytes"
ANNOTATION_TRUNCATED = f"{GROUP}/truncated"
ANNOTATION_ENCODING = f"{GROUP}/encoding"
ANNOTATION_ERROR = f"{GROUP}/error"
ANNOTATION_SHA256 = f"{GROUP}/sha256"  # of the bytes stored: a receipt scripts can check
MARKER_DIGITS = 20  # room for any byte count in the marker, so its length is known up front


def marker(left_out: int) -> bytes:
    return f"\n[orchestrator: {left_out} bytes of output left out]\n".encode()


def _marker_room() -> int:
    return len(marker(10**MARKER_DIGITS - 1))


class BoundedOutput:
    """Collects a stream of bytes, keeping at most `max_bytes`: the head, a marker, the tail.

    Memory stays within about max_bytes whatever the stream's length.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        room = max(max_bytes - _marker_room(), 0)
        self._head_limit = room - room // 2
        self._tail_limit = room // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if len(self._head) < self._head_limit:
            take = self._head_limit - len(self._head)
            self._head += chunk[:take]
            chunk = chunk[take:]
        if chunk and self._tail_limit:
            self._tail += chunk
            if len(self._tail) > 2 * self._tail_limit:  # trim now and then, not every chunk
                del self._tail[: len(self._tail) - self._tail_limit]

    def result(self) -> tuple[bytes, bool]:
        """The stored bytes and whether anything was left out."""
        kept = len(self._head) + len(self._tail)
        if self.total <= self.max_bytes and kept == self.total:
            return bytes(self._head + self._tail), False
        head = _utf8_head(bytes(self._head))
        tail = _utf8_tail(bytes(self._tail[-self._tail_limit :] if self._tail_limit else b""))
        left_out = self.total - len(head) - len(tail)
        return head + marker(left_out) + tail, True


def _char_length(lead: int) -> int:
    """How many bytes a UTF-8 character starting with `lead` takes."""
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    if lead >= 0xC0:
        return 2
    return 1


def _utf8_head(data: bytes) -> bytes:
    """Drops a multi-byte character cut at the end, so valid UTF-8 stays valid."""
    for back in range(1, min(4, len(data)) + 1):
        lead = data[-back]
        if lead & 0xC0 != 0x80:  # the first byte of the last character
            return data[:-back] if _char_length(lead) > back else data
    return data


def _utf8_tail(data: bytes) -> bytes:
    """Drops continuation bytes at the start, left over from a character cut in two."""
    start = 0
    while start < min(3, len(data)) and data[start] & 0xC0 == 0x80:
        start += 1
    return data[start:]


@dataclasses.dataclass(frozen=True)
class StoredOutput:
    """What the logs ConfigMap (or Secret) says about the output it holds (its annotations)."""

    name: str
    pod_uid: str
    pod_name: str
    attempt: int
    generation: int
    bytes: int
    stored_bytes: int
    truncated: bool
    error: str = ""
    kind: str = "ConfigMap"
    sha256: str = ""

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "secret" if self.kind == "Secret" else "configMap": self.name,
            "bytes": self.bytes,
            "storedBytes": self.stored_bytes,
            "truncated": self.truncated,
        }
        if self.sha256:
            out["sha256"] = self.sha256
        return out


def stored_output_from(stored: Mapping[str, Any]) -> StoredOutput | None:
    """Reads a logs ConfigMap's (or Secret's) annotations; None when missing or malformed."""
    meta = stored.get("metadata") or {}
    ann = meta.get("annotations") or {}
    try:
        return StoredOutput(
            name=meta["name"],
            pod_uid=ann[ANNOTATION_POD_UID],
            pod_name=ann.get(ANNOTATION_POD_NAME, ""),
            attempt=int(ann.get(ANNOTATION_ATTEMPT, "1")),
            generation=int(ann.get(ANNOTATION_GENERATION, "0")),
            bytes=int(ann[ANNOTATION_BYTES]),
            stored_bytes=int(ann[ANNOTATION_STORED]),
            truncated=ann.get(ANNOTATION_TRUNCATED) == "true",
            error=ann.get(ANNOTATION_ERROR, ""),
            kind="Secret" if stored.get("kind") == "Secret" else "ConfigMap",
            sha256=ann.get(ANNOTATION_SHA256, ""),
        )
    except (KeyError, ValueError):
        return None


def configmap_for(
    adhoc: dict[str, Any],
    pod: dict[str, Any],
    attempt: int,
    generation: int,
    data: bytes,
    total: int,
    truncated: bool,
    error: str = "",
) -> dict[str, Any]:
    """The logs ConfigMap holding `data`: as text when it is UTF-8, else as binaryData."""
    meta = adhoc["metadata"]
    try:
        text: str | None = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    annotations = {
        ANNOTATION_POD_UID: pod["metadata"]["uid"],
        ANNOTATION_POD_NAME: pod["metadata"]["name"],
        ANNOTATION_ATTEMPT: str(attempt),
        ANNOTATION_GENERATION: str(generation),
        ANNOTATION_BYTES: str(total),
        ANNOTATION_STORED: str(len(data)),
        ANNOTATION_TRUNCATED: "true" if truncated else "false",
        ANNOTATION_ENCODING: "utf-8" if text is not None else "binary",
        ANNOTATION_SHA256: hashlib.sha256(data).hexdigest(),
    }
    if error:
        annotations[ANNOTATION_ERROR] = error
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": logs_configmap_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": labels_for(meta["name"], meta["uid"]),
            "annotations": annotations,
            "ownerReferences": [owner_reference(adhoc)],
        },
    }
    if text is not None:
        body["data"] = {OUTPUT_KEY: text}
    else:
        body["binaryData"] = {OUTPUT_KEY: base64.b64encode(data).decode()}
    return body


def secret_for(configmap: dict[str, Any]) -> dict[str, Any]:
    """The same output kept as a Secret of the same name (spec.logs.storage: Secret): type
    Opaque, the bytes under data.output whatever their encoding."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": configmap["metadata"],
        "data": {OUTPUT_KEY: base64.b64encode(output_of(configmap)).decode()},
    }


def output_of(stored: Mapping[str, Any]) -> bytes:
    """The output a logs ConfigMap holds (text under data, other bytes under binaryData), or a
    logs Secret (base64 under data)."""
    if stored.get("kind") == "Secret":
        return base64.b64decode((stored.get("data") or {}).get(OUTPUT_KEY, ""))
    if OUTPUT_KEY in (stored.get("binaryData") or {}):
        return base64.b64decode(stored["binaryData"][OUTPUT_KEY])
    return (stored.get("data") or {}).get(OUTPUT_KEY, "").encode()
