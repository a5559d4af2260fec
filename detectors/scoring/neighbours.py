"""Neighbour consistency: one sensor disagreeing with its neighbours is a sensor fault, many
agreeing is an area event.

A group is the sensors of one metric that should see the same world (the gauges of a river
reach, the air stations of a street). Each member reports its condition score (how
anomalous its bank finds it). A member is *corroborated* when at least ``quorum - 1`` other
members were anomalous within ``agree_ms``; the group then has an area event. A member that
stays anomalous for ``fault_after_ms`` while at least ``min_peers`` fresh neighbours see
nothing is a sensor fault. With too few fresh neighbours a member is *isolated* and its own
detectors decide alone.

>>> group = NeighbourGroup()
>>> def report(ts, member, score):
...     verdict = group.score_member(ts, member, score)
...     group.learn_member(ts, member, score)
...     return verdict
>>> for minute in range(0, 60):
...     for name in "ABCD":
...         _ = report(minute * 60_000, name, 0.1)
>>> v = report(60 * 60_000, "A", 0.7)          # A alone: held back, not yet a fault
>>> v.corroborated, v.isolated, v.fault, v.area
(False, False, 0.0, 0.0)
>>> v = report(61 * 60_000, "B", 0.65)         # B agrees: an area event
>>> v.corroborated, v.area
(True, 0.7)
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
    ) -> None:
        self.quorum, self.vote_floor, self.agree_ms = quorum, vote_floor, agree_ms
        self.fault_after_ms, self.fresh_ms, self.min_peers = fault_after_ms, fresh_ms, min_peers
        # member -> [last_ts, last_score, anomalous_last_ts, anomalous_since]
        self._members: dict[str, list[Any]] = {}

    def _params(self) -> dict[str, Any]:
        return {
            "quorum": self.quorum, "vote_floor": self.vote_floor, "agree_ms": self.agree_ms,
            "fault_after_ms": self.fault_after_ms, "fresh_ms": self.fresh_ms,
            "min_peers": self.min_peers,
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
        group._members = {k: list(v) for k, v in snapshot["state"]["members"].items()}
        return group

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
        anomalous = score >= self.vote_floor
        peers = agreeing = 0
        area = score if anomalous else 0.0
        for name, (last_ts, last_score, anomalous_ts, _) in self._members.items():
            if name == member:
                continue
            peers += last_ts >= ts_ms - self.fresh_ms
            if anomalous_ts is not None and anomalous_ts >= ts_ms - self.agree_ms:
                agreeing += 1
                if last_ts >= ts_ms - self.fresh_ms and last_score > area:
                    area = last_score
        isolated = peers < self.min_peers
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

    def learn_member(self, ts_ms: int, member: str, score: float) -> None:
        since = self._since(ts_ms, member, score)
        entry = self._members.setdefault(member, [ts_ms, 0.0, None, None])
        entry[0], entry[1], entry[3] = max(entry[0], ts_ms), score, since
        if score >= self.vote_floor:
            entry[2] = ts_ms
