import base64
import hashlib
import os

import pytest

from orchestrator.model.output import BoundedOutput, configmap_for, marker, output_of, secret_for, stored_output_from

from .factories import adhoc, pod


def collect(data: bytes, max_bytes: int, chunk: int = 7) -> tuple[bytes, bool, int]:
    sink = BoundedOutput(max_bytes)
    for i in range(0, len(data), chunk):
        sink.feed(data[i : i + chunk])
    stored, truncated = sink.result()
    return stored, truncated, sink.total


@pytest.mark.parametrize("size", [0, 1, 100, 999, 1000])
def test_output_within_the_limit_is_kept_whole(size):
    data = os.urandom(size)
    stored, truncated, total = collect(data, 1000)
    assert (stored, truncated, total) == (data, False, size)


@pytest.mark.parametrize("size, limit", [(1001, 1000), (5 * 2**20, 4096), (10_000, 200), (3000, 2999)])
def test_long_output_keeps_head_and_tail_around_one_marker(size, limit):
    data = bytes(i % 251 for i in range(size))
    stored, truncated, total = collect(data, limit, chunk=4093)
    assert truncated and total == size
    assert len(stored) <= limit
    head, _, rest = stored.partition(b"\n[orchestrator: ")
    count, _, tail = rest.partition(b" bytes of output left out]\n")
    assert data.startswith(head) and data.endswith(tail)
    assert int(count) == size - len(head) - len(tail)
    assert len(head) > 0 and len(tail) > 0


def test_memory_stays_bounded_while_streaming():
    sink = BoundedOutput(1000)
    for _ in range(10_000):
        sink.feed(b"x" * 1000)
        assert len(sink._head) + len(sink._tail) <= 3000
    assert sink.total == 10_000_000


def test_cut_never_splits_a_utf8_character():
    data = ("é" * 3000 + "€" * 3000 + "𝄞" * 3000).encode()
    for limit in range(200, 260):
        stored, truncated, _ = collect(data, limit)
        assert truncated
        stored.decode("utf-8")  # raises if a character was cut


def test_marker_says_how_much_was_left_out():
    assert marker(12345) == b"\n[orchestrator: 12345 bytes of output left out]\n"


def test_text_output_is_stored_as_data():
    cm = configmap_for(adhoc(), pod(), 1, 1, "héllo\n".encode(), 7, False)
    assert cm["data"] == {"output": "héllo\n"} and "binaryData" not in cm
    assert cm["metadata"]["name"] == "cmd-logs"
    assert cm["metadata"]["labels"]["orchestrator.dev/adhoccommand"] == "cmd"
    assert cm["metadata"]["ownerReferences"][0]["uid"] == "uid-cmd"


def test_binary_output_is_stored_without_loss():
    data = bytes(range(256)) * 3
    cm = configmap_for(adhoc(), pod(), 2, 1, data, len(data), False)
    assert "data" not in cm
    assert base64.b64decode(cm["binaryData"]["output"]) == data
    assert cm["metadata"]["annotations"]["orchestrator.dev/encoding"] == "binary"


def test_stored_output_reads_back_what_configmap_for_wrote():
    cm = configmap_for(adhoc(), pod("p-1"), 3, 2, b"abc", 10, True, error="")
    stored = stored_output_from(cm)
    assert stored is not None
    assert (stored.pod_name, stored.attempt, stored.generation) == ("p-1", 3, 2)
    assert (stored.bytes, stored.stored_bytes, stored.truncated) == (10, 3, True)
    assert stored.status() == {
        "configMap": "cmd-logs",
        "bytes": 10,
        "storedBytes": 3,
        "truncated": True,
        # Known answer: SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }


def test_foreign_or_damaged_configmaps_are_ignored():
    assert stored_output_from({"metadata": {"name": "x"}}) is None
    damaged = {"orchestrator.dev/pod-uid": "u", "orchestrator.dev/bytes": "many", "orchestrator.dev/stored-bytes": "1"}
    assert stored_output_from({"metadata": {"name": "x", "annotations": damaged}}) is None


@pytest.mark.parametrize("data", [b"", "héllo\n".encode(), bytes(range(256)) * 3])
def test_a_secret_keeps_the_same_output_and_says_so_in_the_status(data):
    cm = configmap_for(adhoc(), pod("p-1"), 1, 1, data, len(data), False)
    secret = secret_for(cm)
    assert (secret["kind"], secret["type"], secret["metadata"]["name"]) == ("Secret", "Opaque", "cmd-logs")
    assert set(secret["data"]) == {"output"} and "binaryData" not in secret
    assert output_of(secret) == data == output_of(cm)
    assert secret["metadata"]["ownerReferences"] == cm["metadata"]["ownerReferences"]
    stored = stored_output_from(secret)
    assert stored is not None and stored.kind == "Secret"
    assert stored.status() == {
        "secret": "cmd-logs",
        "bytes": len(data),
        "storedBytes": len(data),
        "truncated": False,
        "sha256": hashlib.sha256(data).hexdigest(),  # the receipt: of the bytes kept
    }
