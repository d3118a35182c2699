"""python -m orchestrator.operator: kopf keeps no record per AdhocCommand; its flags."""

from __future__ import annotations

import pytest
from kopf._core.reactor.inventory import ResourceMemories

from orchestrator.operator.__main__ import Unremembered, arguments


def body(i: int) -> dict:
    return {"metadata": {"uid": f"uid-{i}", "name": f"run-{i}", "namespace": "ns"}}


@pytest.mark.parametrize(("memories", "kept"), [(ResourceMemories(), 1000), (Unremembered(), 0)])
async def test_kopfs_records_of_objects_are_not_kept(memories, kept):
    memo = {"runtime": object()}
    for i in range(1000):
        record = await memories.recall(body(i), memobase=memo, noticed_by_listing=True)
        assert record.memo["runtime"] is memo["runtime"]  # handlers still reach the operator's state
    assert len(list(memories.iter_all_memories())) == kept


@pytest.mark.parametrize(
    ("argv", "env", "namespaces"),
    [
        ([], "", []),
        ([], "team-a,team-b", ["team-a", "team-b"]),
        (["--namespace", "x"], "team-a", ["x"]),
        (["--all-namespaces"], "team-a", []),
    ],
)
def test_the_namespaces_watched(monkeypatch, argv, env, namespaces):
    monkeypatch.setenv("ORCHESTRATOR_NAMESPACES", env)
    assert arguments(argv).namespace == namespaces


def test_both_namespace_flags_are_refused(capsys):
    with pytest.raises(SystemExit):
        arguments(["-n", "a", "-A"])
    assert "not both" in capsys.readouterr().err


def test_kopf_reads_its_lists_and_watch_lines_with_orjson(monkeypatch):
    """faster_json() swaps the decoder kopf reaches for; should a kopf upgrade parse elsewhere,
    the swap would do nothing unnoticed: its two places are checked here too."""
    import inspect

    import aiohttp
    import orjson
    from kopf._cogs.clients import api as kopf_api

    from orchestrator.operator.__main__ import faster_json

    assert "json.loads(line" in inspect.getsource(kopf_api.stream)  # the watch lines
    assert "await response.json()" in inspect.getsource(kopf_api.get)  # the list pages
    defaults = aiohttp.ClientResponse.json.__kwdefaults__
    assert defaults is not None
    monkeypatch.setattr(kopf_api, "json", kopf_api.json)  # both put back after the test
    monkeypatch.setitem(defaults, "loads", defaults["loads"])
    faster_json()
    assert kopf_api.json.loads is orjson.loads
    assert defaults["loads"] is orjson.loads
    assert kopf_api.json.loads('{"items": [1]}') == {"items": [1]}


async def test_kopf_asks_for_its_next_list_page_while_one_is_taken_in(monkeypatch):
    """pages_ahead() wraps the function kopf's watch lists with; should a kopf upgrade list
    elsewhere, the wrap would do nothing unnoticed: its one caller is checked here too."""
    import asyncio
    import inspect

    from kopf._cogs.clients import fetching, watching

    from orchestrator.operator.__main__ import pages_ahead

    assert "fetching.fetch_objs(" in inspect.getsource(watching)
    asked: list[int] = []

    async def fetch_objs(**_):
        for page in range(3):
            asked.append(page)
            yield [page], "1"

    monkeypatch.setattr(fetching, "fetch_objs", fetch_objs)
    pages_ahead()
    pages_ahead()  # once only: not a page ahead of a page ahead
    chunks = fetching.fetch_objs(settings=None)  # type: ignore[call-arg, arg-type]
    assert await anext(chunks) == ([0], "1")
    await asyncio.sleep(0)
    assert asked == [0, 1]  # the second asked for before the first is done with
    assert [c async for c in chunks] == [([1], "1"), ([2], "1")]
