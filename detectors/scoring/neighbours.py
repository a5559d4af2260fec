"""Neighbour consistency: one sensor disagreeing with its neighbours is a sensor fault, many
agreeing is an area event.

A group is the sensors of one metric that should see the same world (the gauges of a river
reach, the air stations of a street). Each member reports its condition score (how
anomalous its bank finds it). A member is *corroborated* when at least ``quorum - 1`` other
members were anomalous within ``agree_ms``; the group then has an area event. A member that
stays anomalous for ``fault_after_ms`` while at least ``min_peers`` fresh neighbours see
nothing is a sensor fault. With too few fresh neighbours a member is *isolated* and its own
detectors decide alone.

Warm-up: a member has a history once it has reported for ``warmup_ms`` (default an hour:
the span its own detectors need to fill their windows at a one-minute cadence, and twice
the forecast's warm-up). Until then its scores are its detectors' first guesses, so it
neither votes nor counts as a peer, and the group judges it isolated (area and fault
exactly 0). On a cold start every member warms up together, so the group says nothing
for its first hour: before this, members agreeing on their warm-up noise opened area
incidents in every street within two minutes.

>>> group = NeighbourGroup()
>>> def report(ts, member, score):
...     verdict = group.score_member(ts, member, score)
...     group.learn_member(ts, member, score)
...     return verdict
>>> for minute in range(0, 120):
...     for name in "ABCD":
...         _ = report(minute * 60_000, name, 0.1)
>>> v = report(120 * 60_000, "A", 0.7)          # A alone: held back, not yet a fault
>>> v.corroborated, v.isolated, v.fault, v.area
(False, False, 0.0, 0.0)
>>> v = report(121 * 60_000, "B", 0.65)         # B agrees: an area event
>>> v.corroborated, v.area
(True, 0.7)

A peer read ahead of the member judged (partitions out of step) does not corroborate it
with an anomaly that began after the member's reading:

>>> ahead = NeighbourGroup()
>>> for minute in range(0, 120):
...     for name in "ABC":
...         ahead.learn_member(minute * 60_000, name, 0.1)
>>> for minute in range(120, 200):   # B read on to minute 200, anomalous from 150
...     ahead.learn_member(minute * 60_000, "B", 0.8 if minute >= 150 else 0.1)
>>> ahead.score_member(125 * 60_000, "A", 0.6).corroborated   # A's minute 125: alone
False
>>> ahead.score_member(190 * 60_000, "A", 0.6).corroborated   # B anomalous since 150
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from detectors.contract.levels import WarningLevel
from detectors.scoring.base import SNAPSHOT_VERSION, Snapshot

MINUTE_MS = 60_000


class Verdict(NamedTuple):
    """What the group says about one member's reading."""

    corroborated: bool  # anomalous, and enough neighbours agree
    isolated: bool  # too few fresh neighbours to judge
    area: float  # the group's area-event score (0 when no quorum)
    fault: float  # this member's neighbour-disagreement fault score
    agreeing: int  # other members anomalous within agree_ms
    peers: int  # other members with fresh data


class NeighbourGroup:
    """Votes of one group's members; state is a small dict per member."""

    name = "neighbours"

    def __init__(
        self,
        quorum: int = 2,
        vote_floor: float = 0.45,
        agree_ms: int = 45 * MINUTE_MS,
        fault_after_ms: int = 30 * MINUTE_MS,
        fresh_ms: int = 20 * MINUTE_MS,
        min_peers: int = 2,
        warmup_ms: int = 60 * MINUTE_MS,
    ) -> None:
        self.quorum, self.vote_floor, self.agree_ms = quorum, vote_floor, agree_ms
        self.fault_after_ms, self.fresh_ms, self.min_peers = fault_after_ms, fresh_ms, min_peers
        self.warmup_ms = warmup_ms
        # member -> [last_ts, last_score, anomalous_last_ts, anomalous_since, first_ts]
        self._members: dict[str, list[Any]] = {}

    def _params(self) -> dict[str, Any]:
        return {
            "quorum": self.quorum, "vote_floor": self.vote_floor, "agree_ms": self.agree_ms,
            "fault_after_ms": self.fault_after_ms, "fresh_ms": self.fresh_ms,
            "min_peers": self.min_peers, "warmup_ms": self.warmup_ms,
        }  # fmt: skip

    def snapshot(self) -> Snapshot:
        return {
            "detector": self.name,
            "version": SNAPSHOT_VERSION,
            "params": self._params(),
            "state": {"members": {k: list(v) for k, v in self._members.items()}},
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> NeighbourGroup:
        group = cls(**snapshot["params"])
        # A member stored without its first report predates warm-ups: it had a history.
        members = snapshot["state"]["members"].items()
        group._members = {k: [*v, v[0] - group.warmup_ms][:5] for k, v in members}
        return group

    def warm(self, member: str, ts_ms: int) -> bool:
        """Whether ``member`` has reported for the warm-up span by ``ts_ms``."""
        entry = self._members.get(member)
        return entry is not None and ts_ms - entry[4] >= self.warmup_ms

    def _since(self, ts_ms: int, member: str, score: float) -> int | None:
        """When the member's current anomalous streak began (None if not anomalous)."""
        if score < self.vote_floor:
            return None
        entry = self._members.get(member)
        if entry is None or entry[3] is None or entry[2] < ts_ms - self.fresh_ms:
            return ts_ms
        return int(entry[3])

    def score_member(self, ts_ms: int, member: str, score: float) -> Verdict:
        """The group's view of ``member`` reading ``score`` at ``ts_ms``."""
        own_history = self.warm(member, ts_ms)
        anomalous = own_history and score >= self.vote_floor
        peers = agreeing = 0
        area = score if anomalous else 0.0
        for name, (last_ts, last_score, anomalous_ts, since, first_ts) in self._members.items():
            if name == member or ts_ms - first_ts < self.warmup_ms:
                continue
            peers += last_ts >= ts_ms - self.fresh_ms
            if self._agrees(ts_ms, anomalous_ts, since):
                agreeing += 1
                if last_ts >= ts_ms - self.fresh_ms and last_score > area:
                    area = last_score
        isolated = peers < self.min_peers or not own_history
        quorate = agreeing + anomalous >= self.quorum
        since = self._since(ts_ms, member, score)
        lasting = since is not None and ts_ms - since >= self.fault_after_ms
        fault = WarningLevel.IV.score if lasting and agreeing == 0 and not isolated else 0.0
        return Verdict(
            corroborated=anomalous and agreeing >= self.quorum - 1,
            isolated=isolated,
            area=area if quorate else 0.0,
            fault=fault,
            agreeing=agreeing,
            peers=peers,
        )

    def _agrees(self, ts_ms: int, anomalous_ts: int | None, since: int | None) -> bool:
        """Whether a peer was anomalous at some time in the agreement window before
        ``ts_ms``: its last anomalous reading is in the window, and its anomaly had begun
        by ``ts_ms``. In event-time order a peer's anomaly never begins after the reading
        judged; when partitions are read out of step (a worker far behind on one of them)
        a peer may be read hours ahead, and its later anomaly must not corroborate this
        reading (a drifting gauge once turned a neighbour's daily pressure dip, read two
        hours behind it, into an area incident)."""
        if anomalous_ts is None or anomalous_ts < ts_ms - self.agree_ms:
            return False
        began = since if since is not None else anomalous_ts
        return int(began) <= ts_ms

    def learn_member(self, ts_ms: int, member: str, score: float) -> None:
        if not self.warm(member, ts_ms):
            score = 0.0  # warm-up noise must not count as an anomaly once it has a history
        since = self._since(ts_ms, member, score)
        entry = self._members.get(member)
        if entry is None:  # (not setdefault: its default list would be built every time)
            entry = self._members[member] = [ts_ms, 0.0, None, None, ts_ms]
        entry[0], entry[1], entry[3] = max(entry[0], ts_ms), score, since
        if score >= self.vote_floor:
            entry[2] = ts_ms
