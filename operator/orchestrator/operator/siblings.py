"""One run's Jobs (or Pods) by uid, packed views (pure).

A run nearly always has one Job, and at a start every run's Job is held so until its AdhocCommand
is listed and the run sealed: a dict of its own for that one entry is 184 bytes, these slots 56.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping


class Siblings(MutableMapping[str, bytes]):
    """A mapping of uid to packed view, in insertion order; the first entry in slots."""

    __slots__ = ("_more", "_uid", "_view")

    def __init__(self, entries: dict[str, bytes] | None = None) -> None:
        self._uid: str | None = None
        self._view = b""
        self._more: dict[str, bytes] | None = None
        for uid, view in (entries or {}).items():
            self[uid] = view

    def __getitem__(self, uid: str) -> bytes:
        if uid == self._uid:
            return self._view
        if self._more is not None:
            return self._more[uid]
        raise KeyError(uid)

    def __setitem__(self, uid: str, view: bytes) -> None:
        if self._uid is None or uid == self._uid:
            self._uid, self._view = uid, view
        else:
            if self._more is None:
                self._more = {}
            self._more[uid] = view

    def __delitem__(self, uid: str) -> None:
        if uid == self._uid:
            if self._more:  # the next in order takes the slots
                self._uid = next(iter(self._more))
                self._view = self._more.pop(self._uid)
            else:
                self._uid, self._view = None, b""
        elif self._more is not None and uid in self._more:
            del self._more[uid]
        else:
            raise KeyError(uid)
        if not self._more:
            self._more = None

    def __iter__(self) -> Iterator[str]:
        if self._uid is not None:
            yield self._uid
        if self._more:
            yield from list(self._more)

    def __len__(self) -> int:
        return (self._uid is not None) + len(self._more or ())

    def __repr__(self) -> str:
        return f"Siblings({dict(self)!r})"
