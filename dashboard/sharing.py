"""One answer for every screen that asks the same question within a moment.

A city center's wall screens all show the same overview and refresh every two seconds;
fifty of them would ask ClickHouse and draw the same figures fifty times. A refresh
callback's answer is therefore shared, for ``ttl_s``, by every request of the same viewer
(the same scope: role, district, user) with the same page values (its refresh counter left
out). The first asker computes it while the others wait for it, instead of all computing
at once; once there is an answer, those asking while its successor is computed get it
(at most one computation older) rather than wait. An answer that failed is not kept.
Operator actions are never shared.

Dash encodes a callback's answer as JSON on every request, and for a figure or a long
table that costs as much as computing it (plotly walks and copies every component and
trace). A shared answer is therefore kept already encoded (:func:`encoded`): each output
as an ``orjson.Fragment`` of the very JSON Dash would have written, which Dash's encoder
copies as is, so fifty screens cost one encoding, not fifty.

>>> calls = []
>>> shared = SharedAnswers(ttl_s=1.0, clock=lambda: 0.0)
>>> shared.get(("overview", "pm25"), lambda: calls.append(1) or "map")
'map'
>>> shared.get(("overview", "pm25"), lambda: calls.append(1) or "map"), len(calls)
('map', 1)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from dash import NoUpdate
from plotly.io.json import to_json_plotly

MAX_ANSWERS = 1024
"""Answers kept at most (the oldest go first): viewers x pages x page values."""


class SharedAnswers:
    """Answers by key, each kept ``ttl_s`` seconds of ``clock``; thread-safe."""

    def __init__(
        self, ttl_s: float, clock: Callable[[], float] = time.monotonic, size: int = MAX_ANSWERS
    ) -> None:
        self.ttl_s, self.clock, self.size = ttl_s, clock, size
        self._answers: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._asking: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def _kept(self, key: Hashable) -> tuple[bool, bool, Any]:
        """(kept at all, still fresh, the answer)."""
        with self._lock:
            found = self._answers.get(key)
        if found is None:
            return False, False, None
        return True, self.clock() - found[0] < self.ttl_s, found[1]

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer to ``key``: a fresh kept one, else ``compute()`` (once, however many
        ask at the same time; while it runs, the others get the answer it replaces, if
        there is one, rather than wait)."""
        if self.ttl_s <= 0:
            return compute()
        kept, fresh, answer = self._kept(key)
        if fresh:
            return answer
        with self._lock:
            asking = self._asking.setdefault(key, threading.Lock())
        if kept and not asking.acquire(blocking=False):
            return answer  # somebody is computing its successor
        if not kept:
            asking.acquire()
        try:
            kept, fresh, answer = self._kept(key)  # computed while this one waited?
            if fresh:
                return answer
            answer = compute()
            with self._lock:
                self._answers[key] = (self.clock(), answer)
                self._answers.move_to_end(key)
                while len(self._answers) > self.size:
                    old, _ = self._answers.popitem(last=False)
                    self._asking.pop(old, None)
        finally:
            asking.release()
        return answer


def encoded(answer: Callable[..., Any], several: bool) -> Callable[..., Any]:
    """``answer`` with each output it gives (every item of the tuple a callback writing
    ``several`` outputs gives) encoded once, as Dash would encode it; ``no_update`` stays
    itself, since Dash must see it to leave the page unchanged."""

    def encoded_answer(*values: Any) -> Any:
        found = answer(*values)
        if several and isinstance(found, tuple):
            return tuple(_fragment(value) for value in found)
        return _fragment(found)

    return encoded_answer


def _fragment(value: Any) -> Any:
    """Dash's own JSON of ``value`` (plotly's encoder, with its escapes of < > / for HTML:
    written again by Dash's encoder it finds nothing left to escape), as a fragment."""
    if isinstance(value, NoUpdate):
        return value
    return orjson.Fragment(to_json(value))


_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"/", b"\\u002f"),
            ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))  # fmt: skip
"""What plotly's encoder escapes for HTML: these bytes occur only inside JSON strings."""


def to_json(value: Any) -> bytes:
    """The JSON plotly's ``to_json_plotly`` writes of ``value``, byte for byte, in a
    fraction of its time: plotly first copies the whole tree (every Dash component's
    props, every row of a long table) into plain lists and dicts, then encodes the copy;
    here orjson walks the tree once and asks only for what it cannot write itself (a
    component: its props; anything else plotly knows: plotly's JSON of it)."""
    found = orjson.dumps(value, default=_plain, option=_OPTIONS)
    for unsafe, safe in _ESCAPES:
        if unsafe in found:
            found = found.replace(unsafe, safe)
    return found


def _plain(value: Any) -> Any:
    to_plotly_json = getattr(value, "to_plotly_json", None)
    if to_plotly_json is not None:
        return to_plotly_json()
    return orjson.Fragment(to_json_plotly(value))
