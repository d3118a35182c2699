import pytest

from orchestrator.operator.siblings import Siblings

# Steps on a Siblings and on a dict side by side: ("set", uid, view) or ("del", uid).
CASES = {
    "one job": [("set", "a", b"1")],
    "one job, replaced": [("set", "a", b"1"), ("set", "a", b"2")],
    "a retry's second job": [("set", "a", b"1"), ("set", "b", b"2")],
    "the first of three deleted: the order stays": [
        ("set", "a", b"1"),
        ("set", "b", b"2"),
        ("set", "c", b"3"),
        ("del", "a"),
    ],
    "a later one replaced, then the first deleted": [
        ("set", "a", b"1"),
        ("set", "b", b"2"),
        ("set", "c", b"3"),
        ("set", "b", b"4"),
        ("del", "a"),
        ("set", "d", b"5"),
    ],
    "all deleted, then one again": [
        ("set", "a", b"1"),
        ("set", "b", b"2"),
        ("del", "b"),
        ("del", "a"),
        ("set", "c", b"3"),
    ],
    "the middle one deleted": [("set", "a", b"1"), ("set", "b", b"2"), ("set", "c", b"3"), ("del", "b")],
}


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_siblings_behave_as_a_dict_in_order(steps):
    siblings, expected = Siblings(), dict[str, bytes]()
    for step in steps:
        for mapping in (siblings, expected):
            if step[0] == "set":
                mapping[step[1]] = step[2]
            else:
                del mapping[step[1]]
        assert list(siblings.items()) == list(expected.items())
        assert len(siblings) == len(expected) and bool(siblings) == bool(expected)
    for uid in ("a", "b", "c", "d", "x"):
        assert siblings.get(uid) == expected.get(uid) and (uid in siblings) == (uid in expected)


def test_a_missing_uid_is_a_key_error_and_pop_has_a_default():
    siblings = Siblings({"a": b"1"})
    with pytest.raises(KeyError):
        del siblings["x"]
    with pytest.raises(KeyError):
        siblings["x"]
    assert siblings.pop("x", None) is None and siblings.pop("a") == b"1" and not siblings


def test_siblings_hold_no_dict_of_their_own_for_one_entry():
    import sys

    one = Siblings({"a": b"1"})
    assert not hasattr(one, "__dict__") and sys.getsizeof(one) < sys.getsizeof({"a": b"1"}) / 2
