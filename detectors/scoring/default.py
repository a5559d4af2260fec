"""The detector for a stream nobody described: no metric, no limits, no cadence promises.

It has to hold on whatever arrives: spikes, level shifts, drifts, daily cycles, flat and
count-like series, and anomalies of shape inside the usual range. So it asks four
scale-free questions of each reading, and more of a stream with a daily cycle or a sparse
one (medians of sliding windows, and spreads from their quartiles or, where wider, their
10th to 90th percentiles, so one wild value cannot move them and a quantized stream is not
judged by its quantization; a flat or integer series gets its resolution as the least
scale):

* **level**: how far is the value from the window's median, in robust deviations? Spikes,
  dips and shifts the recent past never reached. The window (1,000 readings: most of a day
  at a minute's cadence, three and a half days at five minutes') remembers a daily cycle's
  range, so a rush hour is not news.
* **step**: how far is the change from the last reading from the usual change? A beat that
  is too steep, a sudden jump inside the usual range, a burst of noise: the shape
  anomalies a level range hides. A change across a gap (the reading came at least 1.5
  usual intervals after the last one, so one or more readings are missing) is not one
  step: its question is not asked and it does not join the usual changes. A return from
  an excursion that went unreported, or a drift over hours without data, is not a jump.
* **day**, asked only of a stream with a cycle (its differences from the same time on
  earlier days are under :data:`PERIODIC` of its spread): how far is the value from the
  median of the same time on the last :data:`DAYS` days, in robust deviations of those
  differences? A day higher than the others, a rise that did not come, a spike or a
  shift inside the range the cycle covers every day: the anomalies of context that the
  level question cannot see, because the cycle itself is its spread (on a stream at 20 by
  night and 80 by day, a reading of 200 is only four spreads out). Wherever two earlier
  days are known, the step question judges the change net of the earlier days' own change
  between the same two times, in those net changes' spread where they are steadier than
  the raw changes: the same jump at the same hour every day is not a shape anomaly, and
  a spike stands out of a daily swing that drifts from day to day (a weekly cycle) too
  much for the day question to be asked. The cycle is a day, unless the
  level window's autocorrelation shows a shorter one (:func:`cycle_of`, looked for every
  :data:`PERIOD_EVERY` readings): a machine's duty cycle, an hourly batch job; "days"
  are then its turns.
* **week**, asked only of a stream read at least hourly whose cycle is a day, where its
  differences from the same hour of the week on the last :data:`WEEKS` weeks are under
  :data:`PERIODIC` of its spread: how far is the value from the median of those hours'
  means? A holiday (a Thursday that looks like a Sunday) or a storm that empties the
  streets for a day is unlike the days just before it only as a weekend is, and the day
  question, which compares it with those, learns that every weekend.
* **model**, asked only of a stream with a cycle, from its third turn on (the cycle's
  smoothing starts from two whole turns), where the smoothing's misses are under
  :data:`PERIODIC` of its spread, and not after a gap: how far is the value from the
  cycle's additive exponential smoothing (:mod:`detectors.scoring.smoothing`: a level with
  a time constant of an hour of a day, and an offset for each place in the cycle that
  moves three tenths of the way each turn), net of its usual miss, in robust deviations of
  its misses? The day question compares a reading with three earlier days, each as noisy
  as the reading itself, and a daily cycle that drifts (on a weekly one, a trend) moves
  them apart; the smoothing averages the cycle's shape over about six turns and takes its
  level from the last hour, so of a series with a daily and a weekly cycle and a trend
  (the shape of Yahoo's A3 and A4) it predicts each reading to about 1.3 noises, and a
  spike of a few noises stands out of its misses that the cycles hide from every other
  question. Where it is asked (and its likelihood is ready) of a stream it was asked of
  for at least :data:`EXPLAINED` of its readings, the level, step, classic and record
  questions are not: of a stream its cycle's smoothing explains, the level, classic
  and record questions say only where in its cycle and trend a reading lies (every day's
  peak of a trending stream is a new high, which the record question judged at 0.22 each
  time, a floor under any threshold), and the step question judges a change net of the
  cycle's in the noise of two readings, where the miss has the noise of about one; a
  reading that is news to any of them is a miss too. On the made-up Yahoo-like corpus
  (``bench/seasonal_corpus.py``) the model question raised the score from 18.2 to 31.0,
  and asking it instead of those four to 44.2. Of a stream whose misses hover about
  :data:`PERIODIC` of its spread (NAB's ambient temperature and a database server's CPU:
  asked of one reading in six) those four are asked as before: not asked wherever the
  model was, each lost a labelled window that the level and step questions had found.
* **often**, asked only of a sparse stream (its window sits at its median at least half
  the time: a count that is mostly 0, a flat line with excursions): how rare is it for
  as many of the last :data:`SPAN` readings to be off the median, at the rate the window
  is off it (a binomial tail)? Each excursion of such a stream is ordinary, and its
  resolution is as coarse as its excursions; what changes is how often they come.
* **classic**: how far is the value from the level window's mean, in its standard
  deviations? Where the level question measures a reading against the bulk of the stream,
  this one measures it against all of its variation, its usual excursions included: of a
  stream whose excursions are a thousand times its median (bytes sent, requests, tweets)
  every excursion is past the level question's reach, and one of a size never seen before
  stands out only here. Asked beside the others on 36 files of the Numenta Anomaly
  Benchmark, it raised the benchmark's score from 51.6 to 57.3 (cloud servers, traffic and
  tweets gained most; the most one file lost was a fifth of a detection's reward).
* **record**: how far beyond the level window's highest (or lowest) value is the reading,
  in units of that extreme's distance from the median? Of a bursty stream every burst is
  far past the other questions' reach, so each of them counts a burst by the logarithm of
  its size against a history full of bursts: a burst four times the largest of the last
  1,000 readings scored no higher than an ordinary one. The extreme of ``n`` readings
  from an exponential tail lies about ``ln(n / 2)`` of its scales from the median, so a
  reading ``r`` such distances beyond it has a chance of about ``(n / 2) ** -r / (n + 1)``:
  its surprise is ``log10(n + 1) + r * log10(n / 2)``, 0 inside the range. That is
  already a tail probability against the stream's own history (a new extreme of an
  ordinary stream comes once in ``n + 1`` readings: 3.0 for ``n = 1000``, below any
  alarm), so it is not judged again by a likelihood. The extreme is the highest (lowest)
  of the last :data:`HORIZON` windows' worth of readings, each window's kept as it ends
  (five numbers a window), and ``n`` the readings they cover: the more readings an
  extreme sums up, the better it says where the stream's tail ends. A bursty stream breaks
  the record of one window every few days (a window is three and a half days at five
  minutes'); judged against ten, its ordinary bursts stay inside the range and one larger
  than any of the last weeks' stands out. On the 58 files of the Numenta Anomaly Benchmark
  this raised the standard score from 60.1 to 64.0 (63.1 to 64.0 for any horizon of 6 to
  100 windows; 2 windows: 59.3). That chance holds of a stream that holds its level, which
  sets about one new extreme each way in any range; one that set more than
  :data:`RECORDS` on one side (a climb, a trend, a running total) is judged there at the
  rate it set them. Of a trending stream a longer history still makes each new extreme
  near the top a little rarer (on the made-up Yahoo-like corpus, 19.2 to 18.2). Nothing
  is fitted.
* **still**, asked only of a reading that repeats the last one exactly, in a stream whose
  changes are 0 less than once in a hundred (:data:`STILL_RATE`): how rare is it for as
  many of the last :data:`SPAN` readings to repeat the one before, at that rate (a
  binomial tail, used as it is, as the record's)? A stuck sensor: every other question
  sees a repeat as no step, at the level the stream was.

Each other question's normal-tail surprise is judged against its own history by its own
:class:`~detectors.scoring.likelihood.AnomalyLikelihood` (alone, and averaged over the
last ``short`` readings, so a shift made of moderate values counts too); the rarer answer,
corrected for how many questions were asked, is the score. Judged separately, a noisy stream's steps
(which are its noise) are discounted by their own heavy tail instead of drowning the level
question: asked of one shared likelihood, the step question doubled false alarms on
labelled real-world streams. A surprise past
:data:`~detectors.scoring.likelihood.SURPRISE_CAP` (one in 10^12) counts only by the
logarithm of how far past it lies: no model of a stream nobody described is right that far
out, so what makes such a reading rare is how seldom this stream goes beyond its model's
reach (the fitted tail learns that), not how far. Counted in full, a stream whose steps
regularly break the model (a jump at the same hour every day from a flat night, a beat far
steeper than the noise between beats) scored about 1.0 at every one, day after day.
A reading is **routine**, and scored as once a turn (``-log10`` of one reading in a turn's:
0.25 at five minutes' cadence and a day's cycle), where on most of the last :data:`DAYS`
turns the stream peaked (as rare as once a turn or rarer) on the same side of its median
within :data:`ROUTINE_TURN` of a turn of this place in its cycle, and on one of them at
least as far from the median: a nightly job's spike at about three in the morning is the
stream's habit, though every question sees a spike far out of the flat load around it.
A spike at another hour, or larger than any of the last nights' at this one, is news as
before. A stream its cycle's smoothing explains is judged at each place in its cycle by
the model question already, and is not asked this. Of NAB's two cloud servers with such a
job every night's spike was a false alarm at any threshold that found their anomalies.
One pass, memory bounded by the windows, no look-ahead;
silent (0) for the first ``warmup`` readings. An episode is news at its onset and where it
worsens: a reading no more unusual than one of the last :data:`SPAN` readings scores at
most :data:`~detectors.scoring.base.NO_NEWS`, its own score kept in its evidence
(:data:`~detectors.scoring.base.CONTINUES`), from which a bank holds the alert raised at
the onset (:class:`~detectors.scoring.bank.Bank`). So a threshold counts an episode once,
wherever it is set: scored in full at every reading, a sustained episode outside NAB's
labelled windows counted as a false alarm at each one.

>>> detector = UnknownStream()
>>> wave = [20.0 + 5.0 * ((i * 37) % 11) / 10 for i in range(600)]
>>> scores = []
>>> for i, v in enumerate(wave):
...     scores.append(detector.score_one(i, v))
...     detector.learn_one(i, v)
>>> max(scores) < 0.5 and detector.score_one(600, 80.0) > 0.5
True
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from detectors.scoring.base import CONTINUES, FAULT, NO_NEWS, BaseDetector, Evidence, register
from detectors.scoring.likelihood import (
    AnomalyLikelihood,
    normal_surprise,
    surprise_score,
)
from detectors.scoring.robust import MAD_TO_SIGMA, RollingWindow
from detectors.scoring.smoothing import SeasonalSmoothing, start_from

SPARSE = 0.5
"""A stream whose window sits at its median this often is sparse (a count that is mostly 0,
a flat line with excursions): the often question is asked of it."""
SPAN = 20
STILL_RATE = 0.01
"""The still question is asked of a stream whose changes are 0 less often than this: a
continuous measurement, not a count or a coarsely rounded value, whose repeats come in runs
whenever it is low or idle and say nothing of its sensor."""
"""The often question counts the readings off the median among the last this many."""


class Surprises(NamedTuple):
    """A reading's surprises (``-log10`` of a tail probability) for each question, None
    where it is not asked, its usual value on earlier days (None where not known), and its
    change net of the earlier days' own between the same times (None where not known);
    the still question's last."""

    level: float
    step: float
    day: float | None
    usual: float | None
    often: float | None
    classic: float
    record: float
    net: float | None = None
    still: float | None = None
    week: float | None = None
    week_usual: float | None = None
    model: float | None = None
    miss: float | None = None


_READY = 30
"""Readings a window needs before its median and spread mean anything."""
DAY_MS = 86_400_000
PERIOD_EVERY = 250
"""Readings between two looks for a cycle shorter than a day in the level window."""
PEAK = 0.4
"""A cycle is taken from the level window's autocorrelation only where it peaks at least
this high, and at least this far above its lowest point at a shorter lag: a dip and a
return, not the slow fall of a drifting stream's."""
HORIZON = 10
"""The record question's extreme is that of the last this many level windows' worth of
readings (the current window and the ends of earlier ones)."""
RECORDS = 50
"""A stream that set more new extremes on one side than this within the record question's
range does not hold its level: its next one on that side is judged at the rate it set
them. A stream that does hold it sets about one each way in any range, in bursts of a few
readings."""
DAYS = 3
ROUTINE_TURN = 24
"""A peak is routine where the stream peaked within this share of a turn (an hour of a
day) of the same place in its cycle on most of the last :data:`DAYS` turns: a nightly job
starts within minutes of its hour, not on the second."""
WEEKS = 3
"""Earlier weeks the week question compares a reading with."""
WEEK_MS, HOUR_MS = 7 * 86_400_000, 3_600_000
"""Earlier days the day question compares a reading with."""
MAX_SLOTS = 288
"""At most this many places in the day are remembered (five-minute slots, or the usual
interval if longer): a minute stream's memory of three days is 864 values, not 4,320."""
EXPLAINED = 0.7
"""A stream is explained by its cycle's smoothing where the model question was asked of at
least this share of its readings since the smoothing started (of the last window's worth):
there the level, step, classic and record questions are not asked. Of a stream whose
misses hover about :data:`PERIODIC` of its spread (a temperature, a server's load: asked of
one reading in six) they are, as before the model question."""
PERIODIC = 0.3
"""The day question is asked only of a stream whose differences from earlier days at the
same time are under this share of its spread about its median: its daily cycle accounts for
about nine tenths of its variance or more. Of a stream whose cycle is weaker, the
differences carry what the question cannot model (weekdays against weekends, trends), and
it raised false alarms on hourly ad-exchange prices (shares of 0.3 to 0.8) without finding
more; of a stream with no cycle it would only repeat the level question with more noise."""
INTERVALS = 101
"""Recent intervals between readings whose median is the stream's usual interval."""
GAP = 1.5
"""A reading this many usual intervals after the last one follows a gap: the elapsed time
rounds to two intervals or more, so at least one reading is missing."""


@register
class UnknownStream(BaseDetector):
    """Robust level and step surprises of sliding windows of ``window`` readings, each
    scored by its likelihood against its own history (averaged over ``short`` readings, a
    long-run memory of ``memory``); 0 until ``warmup`` readings have been seen."""

    name = "default"

    def __init__(
        self, window: int = 1000, short: int = 5, memory: int = 2000, warmup: int = 180
    ) -> None:
        self.window, self.short, self.memory, self.warmup = window, short, memory, warmup
        self._level = RollingWindow(window)
        self._step = RollingWindow(window)
        ready = max(0, warmup - _READY)
        self._likelihood = AnomalyLikelihood(short, memory, ready, hold=False, log_past_cap=True)
        self._step_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._day_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._day = RollingWindow(window)  # differences from earlier days at this time
        self._week: Profile = {}  # hour of the week: [[week, sum, n, time sum], ...]
        self._week_diff = RollingWindow(window)  # differences from earlier weeks at this hour
        self._week_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._net = RollingWindow(window)  # changes net of the earlier days' own
        self._smoothing: SeasonalSmoothing | None = None  # the cycle's, from two turns on
        self._misses = RollingWindow(window)  # the smoothing's misses
        # the share of the readings since the smoothing started (a running mean over the
        # first window's worth, then an exponential one) of which the model question was
        # asked, and how many readings that mean is over
        self._asked = [0.0, 0.0]
        self._model_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._often_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._classic_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._moments = [0.0, 0.0, 0.0]  # the level window's sum and sum of squares about [2]
        self._off: deque[bool] = deque(maxlen=SPAN - 1)  # the last readings: off the median?
        self._still: deque[bool] = deque(maxlen=SPAN - 1)  # the last readings: repeats?
        self._slot_ms = 0  # the width of a place in the cycle, fixed once the cadence is known
        self._period_ms = DAY_MS  # the cycle: a day, unless a shorter one is seen
        self._seen = 0  # readings learnt
        self._profile: Profile = {}  # slot: [[day, sum, n, time sum], ...]
        self._last: float | None = None
        self._last_usual: float | None = None  # the last reading's usual value, if known
        self._intervals = RollingWindow(INTERVALS)
        self._last_ts: int | None = None
        self._usual = 0.0  # the usual interval, 0 until known
        self._resolution = math.inf  # the least non-zero change seen: a scale floor
        self._scores: deque[float] = deque(maxlen=SPAN)  # the last readings' own scores
        # the record's history: [low, high, readings, new lows, new highs] of each earlier
        # window's worth of readings (the last HORIZON - 1), and [readings, new lows, new
        # highs] of the one being filled (its low and high are the level window's: it lies
        # within it, and is all of it when it ends)
        self._extremes: deque[list[float]] = deque(maxlen=HORIZON - 1)
        self._filling = [0.0, 0.0, 0.0]
        self._past = _span(self._extremes)
        self._evidence: Evidence = {}
        self._memo: tuple[float, Surprises | None, float, float] | None = None
        # the peaks of the last DAYS turns (readings as rare as once a turn or rarer): their
        # times and their distances from the level window's median; at most a window's
        # worth (a stream that peaks that often has no routine to learn)
        self._peaks: deque[tuple[int, float]] = deque(maxlen=window)
        # the earlier days' values at the latest time asked and at the last reading's (a
        # cache, not state: the profile's earlier days are what they were then)
        self._days_seen: tuple[int, int, dict[float, float]] | None = None
        self._days_seen_before: tuple[int, int, dict[float, float]] | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "short": self.short,
            "memory": self.memory,
            "warmup": self.warmup,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "level": self._level.dump(),
            "step": self._step.dump(),
            "likelihood": self._likelihood.dump(),
            "step_likelihood": self._step_likelihood.dump(),
            "day_likelihood": self._day_likelihood.dump(),
            "week": [[slot, weeks] for slot, weeks in self._week.items()],
            "week_diff": self._week_diff.dump(),
            "week_likelihood": self._week_likelihood.dump(),
            "day": self._day.dump(),
            "net": self._net.dump(),
            "slot_ms": self._slot_ms,
            "period_ms": self._period_ms,
            "peaks": [list(peak) for peak in self._peaks],
            "seen": self._seen,
            "profile": [[slot, days] for slot, days in self._profile.items()],
            "often_likelihood": self._often_likelihood.dump(),
            "classic_likelihood": self._classic_likelihood.dump(),
            "moments": list(self._moments),
            "off": list(self._off),
            "still": list(self._still),
            "last": self._last,
            "last_usual": self._last_usual,
            "intervals": self._intervals.dump(),
            "last_ts": self._last_ts,
            "resolution": None if math.isinf(self._resolution) else self._resolution,
            "scores": list(self._scores),
            "extremes": [list(ended) for ended in self._extremes],
            "filling": list(self._filling),
            "smoothing": None if self._smoothing is None else self._smoothing.dump(),
            "misses": self._misses.dump(),
            "asked": list(self._asked),
            "model_likelihood": self._model_likelihood.dump(),
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        self._level.load(state["level"])
        self._step.load(state["step"])
        self._likelihood.load(state["likelihood"])
        self._step_likelihood.load(state["step_likelihood"])
        if "day_likelihood" in state:  # absent from snapshots before the day question
            self._day_likelihood.load(state["day_likelihood"])
        # absent from snapshots before the week question
        self._week = {
            int(slot): [[float(x) for x in entry] for entry in weeks]
            for slot, weeks in state.get("week", [])
        }
        self._week_diff.load(state.get("week_diff", []))
        if "week_likelihood" in state:
            self._week_likelihood.load(state["week_likelihood"])
        self._day.load(state.get("day", []))
        self._net.load(state.get("net", []))  # absent from snapshots before the net change
        if "often_likelihood" in state:  # absent from snapshots before the often question
            self._often_likelihood.load(state["often_likelihood"])
        if "classic_likelihood" in state:  # absent from snapshots before the classic question
            self._classic_likelihood.load(state["classic_likelihood"])
        moments = state.get("moments")  # absent from snapshots before the classic question
        self._moments = [float(x) for x in moments] if moments else _moments(self._level.values())
        self._off = deque((bool(x) for x in state.get("off", [])), maxlen=SPAN - 1)
        # absent from snapshots before the still question
        self._still = deque((bool(x) for x in state.get("still", [])), maxlen=SPAN - 1)
        self._slot_ms = int(state.get("slot_ms", 0))
        self._period_ms = int(state.get("period_ms", DAY_MS))
        # absent from snapshots before the routine peaks: none are known
        self._peaks = deque(
            ((int(t), float(off)) for t, off in state.get("peaks", [])), maxlen=self.window
        )
        self._seen = int(state.get("seen", 0))
        self._profile = {
            int(slot): [_timed([float(x) for x in entry], self._slot_ms) for entry in days]
            for slot, days in state.get("profile", [])
        }
        self._last = state["last"]
        self._last_usual = state.get("last_usual")
        self._intervals.load(state.get("intervals", []))  # absent from older snapshots
        self._last_ts = state.get("last_ts")
        self._usual = self._usual_interval()
        resolution = state["resolution"]
        self._resolution = math.inf if resolution is None else float(resolution)
        # absent from snapshots before the onset rule (they kept whether an alarm went on)
        self._scores = deque((float(x) for x in state.get("scores", [])), maxlen=SPAN)
        # absent from snapshots before the record's history: it starts afresh
        ended, filling = state.get("extremes", []), state.get("filling") or [0.0] * 3
        self._extremes = deque(([float(x) for x in e] for e in ended), maxlen=HORIZON - 1)
        self._filling = [float(x) for x in filling[-3:]]  # fd8d9e6 kept its low and high too
        self._past = _span(self._extremes)
        # absent from snapshots before the model question: it starts afresh
        smoothing = state.get("smoothing")
        self._smoothing = None if smoothing is None else SeasonalSmoothing.load(smoothing)
        self._misses.load(state.get("misses", []))
        self._asked = [float(x) for x in state.get("asked", (0.0, 0.0))]
        if "model_likelihood" in state:
            self._model_likelihood.load(state["model_likelihood"])
        self._memo = None

    def _z(self, window: RollingWindow, x: float) -> float:
        """``x`` from the window's median in its spread: the larger of the quartiles' and
        the 10th to 90th percentiles' (each in standard deviations of a normal, so the
        same for normal noise), at least the stream's resolution. A stream whose middle
        half sits on one or two values (quantized, flat with excursions, two-level) has
        quartiles that measure its quantization, not its spread: on such streams (a
        server's CPU at 0.132 or 0.134 with steps of 0.066) every ordinary reading was
        hundreds of spreads out, so nothing stood out. The 10th to 90th still ignores the
        tenth at either end, so one wild value cannot move it."""
        median, sigma = window.median_and_sigma()
        wide = _wide_sigma(window)
        return (x - median) / self._scale(max(sigma, wide), median)

    def _scale(self, spread: float, about: float) -> float:
        """``spread``, at least the stream's resolution (1e-9 until a change is seen) and a
        billionth of ``about``: every question's least scale."""
        floor = self._resolution if math.isfinite(self._resolution) else 1e-9
        return max(spread, floor, 1e-9 * abs(about))

    def _periodic(self, usual: float | None) -> bool:
        """Whether the day question is asked: the usual value is known and the stream's
        differences from earlier days are under :data:`PERIODIC` of its spread."""
        return (
            usual is not None
            and len(self._day) >= _READY
            # the 10th to 90th percentiles: steadier than the quartiles for a stream of two
            # levels, whose quartiles jump from one to the other as the share of either moves
            and self._day.median_and_sigma()[1] < PERIODIC * _wide_sigma(self._level)
        )

    def _usual_interval(self) -> float:
        return self._intervals.median_and_sigma()[0] if len(self._intervals) >= _READY else 0.0

    def after_gap(self, ts_ms: int) -> bool:
        """Whether a reading at ``ts_ms`` comes :data:`GAP` usual intervals or more after
        the last one (False until the usual interval is known)."""
        last, usual = self._last_ts, self._usual
        return last is not None and usual > 0.0 and ts_ms - last >= GAP * usual

    def _slot(self, ts_ms: int) -> int:
        return (ts_ms % self._period_ms) // self._slot_ms

    def earlier_days(self, ts_ms: int) -> float | None:
        """The stream's usual value at this time on earlier days: the median of its slot's
        means over the last :data:`DAYS` days before today (or, where the slot has fewer
        than two of them, of its own and its two neighbours' means); None until two earlier
        days have been seen there."""
        known = self._earlier(ts_ms)
        return None if known is None else known[0]

    def _earlier(self, ts_ms: int) -> tuple[float, float, dict[float, float]] | None:
        """:meth:`earlier_days`, and how much the earlier days differ around this time: the
        robust spread of the slot's and its neighbours' means over those days, each about
        its own slot's median. The differences from earlier days are judged in the larger
        of this and their usual spread over the whole day, so a time of day whose days vary
        (a busy afternoon) does not teach the question's likelihood that big differences
        are ordinary elsewhere. Each slot about its own median: taken together, about this
        slot's usual value, the spread measured the cycle's own shape where it is steep (a
        heartbeat's peak, whose neighbours lie half its height below it) and hid a beat
        whose peak fell short by 40 %."""
        if not self._slot_ms:
            return None
        period = self._period_ms
        today, slot, slots = ts_ms // period, self._slot(ts_ms), -(-period // self._slot_ms)
        own: list[float] = []
        around: list[float] = []
        own_days: set[float] = set()
        around_days: set[float] = set()
        apart: list[float] = []  # each slot's means about their own median
        for near in (slot - 1, slot, slot + 1):
            means = []
            for day, total, n, _ in self._profile.get(near % slots, ()):
                if today - DAYS <= day < today:
                    means.append(total / n)
                    around_days.add(day)
                    if near == slot:
                        own.append(total / n)
                        own_days.add(day)
            around += means
            if len(means) >= 2:
                middle = statistics.median(means)
                apart += [abs(x - middle) for x in means]
        if len(around_days) < 2:
            return None
        days = self._on_days(ts_ms)
        self._days_seen = (ts_ms, period, days)
        if len(days) >= 2:
            usual = statistics.median(days.values())
        else:
            usual = statistics.median(own if len(own_days) >= 2 else around)
        if apart:
            spread = MAD_TO_SIGMA * statistics.median(apart)
        else:
            spread = MAD_TO_SIGMA * statistics.median([abs(x - usual) for x in around])
        return usual, spread, days

    def _on_days(self, ts_ms: int) -> dict[float, float]:
        """The stream's value at ``ts_ms``'s time on each of the last :data:`DAYS` days
        (by how many days back) that has it (:func:`_on_turns`)."""
        return _on_turns(self._profile, self._period_ms, self._slot_ms, ts_ms, DAYS)

    def _day_change(self, usual: float, days: dict[float, float]) -> float:
        """The usual change since the last reading: the median over the earlier days both
        readings have (``days``: this one's, from :meth:`_on_days`) of the change between
        the same times on each, else the change of the usual value. The usual value itself
        moves when a third earlier day joins its median, and a trending stream's change net
        of it would jump there."""
        assert self._last_usual is not None and self._last_ts is not None
        seen = self._days_seen_before
        if seen is not None and seen[:2] == (self._last_ts, self._period_ms):
            before = seen[2]  # the earlier days do not change when a reading is learnt
        else:
            before = self._on_days(self._last_ts)
        common = [back for back in days if back in before]
        if len(common) >= 2:
            return statistics.median([days[back] - before[back] for back in common])
        return usual - self._last_usual

    def surprises(self, ts_ms: int, value: float, gap: bool = False) -> Surprises | None:
        """The reading's surprises (``-log10`` of their tails), None while the windows are
        too short to say; after a ``gap`` the step's is 0; the day's is None unless the
        stream has a cycle (:data:`PERIODIC`), the often's unless it is sparse."""
        if self._last is None or len(self._level) < _READY:
            return None
        level = self._z(self._level, value)
        change = value - self._last
        self._evidence = {"expected": self._level.median_and_sigma()[0], "z": level}
        day = None
        known = self._earlier(ts_ms)
        usual = None if known is None else known[0]
        week, week_usual = self._week_surprise(ts_ms, value)
        if known is not None and self._periodic(usual) and not self._week_steadier(week):
            usual, spread, days = known
            median, sigma = self._day.median_and_sigma()
            day_z = (value - usual - median) / self._scale(max(sigma, spread), usual)
            self._evidence.update(expected=usual, day_z=day_z)
            day = normal_surprise(day_z)
        net = None
        if known is not None and self._last_usual is not None:
            net = change - self._day_change(known[0], known[2])
        if gap:
            step = 0.0
        elif net is not None and self._steadier_net():
            step = self._z(self._net, net)
        elif net is not None and day is not None:
            step = self._z(self._step, net)  # judged in the raw changes' spread until then
        else:
            step = self._z(self._step, change)
        self._evidence["step_z"] = step
        classic = self._classic_z(value)
        self._evidence["classic_z"] = classic
        model, miss = self._model_surprise(ts_ms, value, gap)
        return Surprises(
            normal_surprise(level),
            normal_surprise(step),
            day,
            usual,
            self._often(value),
            normal_surprise(classic),
            self._record(value),
            net,
            self._still_surprise(value),
            week,
            week_usual,
            model,
            miss,
        )

    def _model_surprise(
        self, ts_ms: int, value: float, gap: bool
    ) -> tuple[float | None, float | None]:
        """The model question's surprise and the smoothing's miss (None where not
        known): how far the reading lies from the cycle's smoothing
        (:class:`~detectors.scoring.smoothing.SeasonalSmoothing`), net of its usual miss,
        in robust deviations of its misses; asked only where they are under
        :data:`PERIODIC` of the stream's spread, and not after a gap."""
        smoothing = self._smoothing
        if smoothing is None or gap:
            return None, None
        predicted = smoothing.predict(self._slot(ts_ms))
        miss = value - predicted
        z = self._periodic_z(self._misses, miss, predicted)
        if z is None:
            return None, miss
        self._evidence["model_z"] = z
        return normal_surprise(z), miss

    def _week_steadier(self, week: float | None) -> bool:
        """Whether the week question is asked and its differences are steadier than the
        day question's: the same hour on earlier weeks says more of this reading than the
        same time on the days just before it (whose differences are then mostly weekends
        against weekdays: on a road, every Monday's rush hour stood out against a Friday,
        a Saturday and a Sunday). The day question is not asked then."""
        return (
            week is not None
            and self._week_diff.median_and_sigma()[1] < self._day.median_and_sigma()[1]
        )

    def _on_weeks(self, ts_ms: int) -> float | None:
        """The median of this hour of the week's means on the last :data:`WEEKS` weeks,
        None where fewer than two have it. An hour's mean as it is: drawn between the
        hours' mean times (as the day question's slots are), it found a holiday in NAB's
        taxi demand less well (0.31 against 0.49) and scored lower on the whole benchmark
        (49.8 against 50.4)."""
        values = _on_turns(self._week, WEEK_MS, HOUR_MS, ts_ms, WEEKS, between=False)
        return statistics.median(values.values()) if len(values) >= 2 else None

    def _weekly(self) -> bool:
        """Whether the week's hours are remembered: a stream read at least once an hour
        whose cycle is a day (or none was seen)."""
        return self._period_ms == DAY_MS and 0.0 < self._usual <= HOUR_MS

    def _week_surprise(self, ts_ms: int, value: float) -> tuple[float | None, float | None]:
        """The week question's surprise and the usual value it compares with (None where
        not known): how far the reading lies from this hour of the week on the last
        :data:`WEEKS` weeks, in robust deviations of those differences; asked, as the day
        question is, only where they are under :data:`PERIODIC` of the stream's spread."""
        if not self._weekly():
            return None, None
        usual = self._on_weeks(ts_ms)
        z = None if usual is None else self._periodic_z(self._week_diff, value - usual, usual)
        if z is None:
            return None, usual
        self._evidence["week_z"] = z
        return normal_surprise(z), usual

    def _periodic_z(self, misses: RollingWindow, miss: float, about: float) -> float | None:
        """``miss`` (a reading's difference from what its cycle predicts, ``about``) from
        the usual one, in robust deviations of ``misses``; None until they are known, or
        where they are not under :data:`PERIODIC` of the stream's spread."""
        if len(misses) < _READY:
            return None
        median, sigma = misses.median_and_sigma()
        if sigma >= PERIODIC * _wide_sigma(self._level):
            return None
        return (miss - median) / self._scale(sigma, about)

    def _steadier_net(self) -> bool:
        """Whether the step question judges a reading's change net of the earlier days'
        own between the same times, in those net changes' spread: where they are known and
        steadier than the raw changes. Of a stream whose days repeat with a slow drift (a
        weekly cycle, a trend: the day question's differences vary too much for it to be
        asked) the net changes are the noise alone, and a spike of a few times it stands out
        that the cycle's own swings hide from every other question."""
        return (
            len(self._net) >= _READY
            and self._net.median_and_sigma()[1] < self._step.median_and_sigma()[1]
        )

    def _record(self, value: float) -> float:
        """The record question's surprise: 0 inside the range of the last :data:`HORIZON`
        windows' worth of readings, else ``log10(n + 1) + r * log10(n / 2)`` for a reading
        ``r`` times the extreme's distance from the level window's median beyond it (at
        least the stream's resolution), ``n`` being the readings that range covers."""
        window = self._level
        past_low, past_high, past_n, past_lows, past_highs = self._past
        filling_n, filling_lows, filling_highs = self._filling
        low = min(window.quantile(0.0), past_low)
        high = max(window.quantile(1.0), past_high)
        if low <= value <= high:
            return 0.0
        median = window.median_and_sigma()[0]
        if value > high:
            beyond = (value - high) / self._scale(high - median, median)
            records = past_highs + filling_highs
        else:
            beyond = (low - value) / self._scale(median - low, median)
            records = past_lows + filling_lows
        n = max(len(window), int(past_n + filling_n))
        self._evidence["record_r"] = beyond
        # a stream that set more than RECORDS new extremes on this side in that range sets
        # them at its own rate: it does not hold its level (a climb, a trend, a running
        # total); a sudden extreme the other way is as rare as ever
        often = max(1.0, records / RECORDS)
        return math.log10((n + 1) / often) + beyond * math.log10(max(n / 2, 1.0))

    def _classic_z(self, value: float) -> float:
        """``value`` from the level window's mean in its standard deviation (at least the
        stream's resolution): the classic question."""
        total, squares, about = self._moments
        n = len(self._level)
        mean = total / n
        sd = math.sqrt(max(squares / n - mean * mean, 0.0))
        return (value - about - mean) / self._scale(sd, mean + about)

    def _still_surprise(self, value: float) -> float | None:
        """The still question's surprise, asked of a reading that repeats the last one
        exactly: how rare it is for as many of the last :data:`SPAN` readings (this one
        too) to repeat the one before, at the rate the stream's changes were 0 before them
        (binomial); None while it has not seen that many, or where that rate is over
        :data:`STILL_RATE`. A sensor stuck at one value in a stream that never repeats
        itself stands out within a few readings, where every other question sees nothing
        (a repeat is no step, and lies at the level it was). Asked only of a repeat, it
        costs the other questions nothing in the correction for asking several, and its
        tail is used as it is, as the record question's: a likelihood would learn from
        too few repeats to say."""
        steps = len(self._step)
        if len(self._still) < SPAN - 1 or steps < _READY or value != self._last:
            return None
        recent = sum(self._still)
        # the rate before the last readings: a run of repeats does not make itself usual
        zeros = max(0.0, self._step.share_at(0.0) * steps - recent)
        rate = zeros / max(1, steps - len(self._still))
        if rate > STILL_RATE:
            return None
        count = recent + 1
        rate = max(rate, 1.0 / steps)
        self._evidence["repeats"] = count
        return -math.log10(max(_binomial_tail(count, SPAN, rate), 1e-300))

    def _often(self, value: float) -> float | None:
        """The often question's surprise: how rare it is for as many of the last
        :data:`SPAN` readings (this one too) to be off the median, at the rate the window
        is off it (binomial); None unless the stream is sparse (:data:`SPARSE`)."""
        if len(self._off) < SPAN - 1:
            return None
        median, at = self._level.median_and_sigma()[0], self._level.share_at
        rate = 1.0 - at(median)
        if rate > 1.0 - SPARSE:
            return None
        count = sum(self._off) + (value != median)
        rate = max(rate, 1.0 / len(self._level))
        return -math.log10(max(_binomial_tail(count, SPAN, rate), 1e-300))

    def score_one(self, ts_ms: int, value: float) -> float:
        surprises = self.surprises(ts_ms, value, self.after_gap(ts_ms))
        score = rarity = 0.0
        if surprises is not None and self._likelihood.ready():
            # of a stream its cycle's smoothing explains, the level, classic and record
            # questions measure where in its cycle (and trend) a reading lies, and the step
            # question its change net of the cycle's in the noise of two readings: the
            # smoothing's miss says whether it is news, with the noise of about one
            modelled = (
                surprises.model is not None
                and self._model_likelihood.ready()
                and self._asked[0] >= EXPLAINED
            )
            questions = [
                (self._day_likelihood, surprises.day),
                (self._week_likelihood, surprises.week),
                (self._model_likelihood, surprises.model),
                (self._often_likelihood, surprises.often),
            ]
            if not modelled:
                questions += [
                    (self._likelihood, surprises.level),
                    (self._step_likelihood, surprises.step),
                    (self._classic_likelihood, surprises.classic),
                ]
            rarest, asked = 0.0, 0
            for likelihood, surprise in questions:
                if surprise is not None and likelihood.ready():
                    rarest, asked = max(rarest, likelihood.rarity(surprise)), asked + 1
            if not modelled:
                # the record's surprise is a tail probability already (see the module's doc)
                rarest, asked = max(rarest, surprises.record), asked + 1
            if surprises.still is not None:  # a tail probability too
                if surprises.still > rarest:
                    self._evidence[FAULT] = "stuck"  # the sensor's fault, not the place's
                rarest, asked = max(rarest, surprises.still), asked + 1
            rarity = _any_of(rarest, asked)
            # a stream its smoothing explains is judged at each place in its cycle already
            score = surprise_score(rarity if modelled else self._routine(ts_ms, value, rarity))
        self._memo = (value, surprises, score, rarity)
        if score > NO_NEWS and self._scores and score <= max(self._scores):
            self._evidence[CONTINUES] = score
            return NO_NEWS  # no news: the episode was raised already (a bank holds it)
        return score

    def _once(self) -> float:
        """The rarity of once a turn (``-log10`` of one reading in a turn's), inf while
        the usual interval is unknown."""
        return math.log10(self._period_ms / self._usual) if self._usual > 0.0 else math.inf

    def _routine(self, ts_ms: int, value: float, rarity: float) -> float:
        """``rarity``, but once a turn's where the reading is routine: on most of the
        last :data:`DAYS` turns the stream peaked on the same side at about this place in
        its cycle, and on one of them at least as far from the median."""
        once = self._once()
        if rarity <= once or len(self._level) < _READY:
            return rarity
        period = self._period_ms
        tolerance = period // ROUTINE_TURN
        off = value - self._level.median_and_sigma()[0]
        turns, farthest = 0, 0.0
        for turn in range(1, DAYS + 1):
            at = ts_ms - turn * period
            same = [abs(o) for t, o in self._peaks if abs(t - at) <= tolerance and o * off > 0]
            if same:
                turns, farthest = turns + 1, max(farthest, *same)
        return once if 2 * turns > DAYS and abs(off) <= farthest else rarity

    def learn_one(self, ts_ms: int, value: float) -> None:
        memo, self._memo = self._memo, None
        if memo is None or memo[0] != value:
            self.score_one(ts_ms, value)
            memo, self._memo = self._memo, None
        assert memo is not None
        surprises, score = memo[1], memo[2]
        peaks, period = self._peaks, self._period_ms
        if memo[3] >= self._once() and len(self._level) >= _READY:
            peaks.append((ts_ms, value - self._level.median_and_sigma()[0]))
        while peaks and peaks[0][0] < ts_ms - DAYS * period - period // ROUTINE_TURN:
            peaks.popleft()
        self._last_usual = None if surprises is None else surprises.usual
        self._days_seen_before = self._days_seen
        self._scores.append(score)
        if self._smoothing is not None:  # the share of readings the model question was asked
            now = 1.0 if surprises is not None and surprises.model is not None else 0.0
            asked = self._asked
            asked[1] = min(asked[1] + 1.0, self.window)
            asked[0] += (now - asked[0]) / asked[1]
        if surprises is not None:
            self._likelihood.learn(surprises.level)
            self._step_likelihood.learn(surprises.step)
            if surprises.day is not None:
                self._day_likelihood.learn(surprises.day)
            if surprises.week is not None:
                self._week_likelihood.learn(surprises.week)
            if surprises.week_usual is not None:
                self._week_diff.add(value - surprises.week_usual)
            if surprises.usual is not None:
                self._day.add(value - surprises.usual)
            if surprises.often is not None:
                self._often_likelihood.learn(surprises.often)
            if surprises.model is not None:
                self._model_likelihood.learn(surprises.model)
            if surprises.miss is not None:
                self._misses.add(surprises.miss)
            self._classic_likelihood.learn(surprises.classic)
        if len(self._level) >= _READY:
            self._off.append(value != self._level.median_and_sigma()[0])
        if self._last is not None:
            self._still.append(value == self._last)
            change = abs(value - self._last)
            if change > 0.0:
                self._resolution = min(self._resolution, change)
            if not self.after_gap(ts_ms):
                self._step.add(value - self._last)
                if surprises is not None and surprises.net is not None:
                    self._net.add(surprises.net)
        if self._last_ts is not None and ts_ms > self._last_ts:
            self._intervals.add(float(ts_ms - self._last_ts))
            self._usual = self._usual_interval()
            if not self._slot_ms and self._usual > 0.0:
                self._slot_ms = max(int(self._usual), self._period_ms // MAX_SLOTS)
        if self._slot_ms:
            self._smooth(ts_ms, value)
            self._remember(ts_ms, value)
        if self._weekly():
            self._remember_week(ts_ms, value)
        self._add_level(value)
        self._add_extreme(value, surprises is not None and surprises.record > 0.0)
        self._last, self._last_ts = value, ts_ms
        self._seen += 1
        if self._seen % PERIOD_EVERY == 0 and self._usual > 0.0:
            self._look_for_cycle()

    def _smooth(self, ts_ms: int, value: float) -> None:
        """Learn the reading into the cycle's smoothing, started once two whole turns
        are remembered (:func:`~detectors.scoring.smoothing.start_from`)."""
        period, width, usual = self._period_ms, self._slot_ms, self._usual
        if usual <= 0.0:
            return
        if self._smoothing is None:
            if self._last_ts is None or ts_ms // period == self._last_ts // period:
                return
            self._smoothing = self._start_smoothing(ts_ms)  # a turn has ended
            if self._smoothing is None:
                return
        steps = 1.0 if self._last_ts is None else max(ts_ms - self._last_ts, 0) / usual
        self._smoothing.learn(self._slot(ts_ms), value, steps, period / usual, width / usual)

    def _start_smoothing(self, ts_ms: int) -> SeasonalSmoothing | None:
        """The smoothing started from the last two whole turns in the profile."""
        period, width = self._period_ms, self._slot_ms
        today = ts_ms // period
        turns: list[dict[int, tuple[float, float]]] = [{}, {}]
        for slot, entries in self._profile.items():
            for turn, total, n, times in entries:
                back = today - int(turn)
                if back in (1, 2):
                    turns[2 - back][slot] = (total / n, (slot * width + times / n) / period)
        return start_from(turns, -(-period // width), (ts_ms % period) / period)

    def _add_level(self, value: float) -> None:
        """``value`` into the level window and its running moments, taken afresh from the
        window once a window's worth of readings has been added (no rounding builds up)."""
        moments = self._moments
        if not len(self._level):
            moments[2] = value  # sums about the first value: no cancellation at any scale
        old = self._level.add(value)
        x = value - moments[2]
        moments[0] += x
        moments[1] += x * x
        if old is not None:
            x = old - moments[2]
            moments[0] -= x
            moments[1] -= x * x
        if self._seen % self.window == 0:
            self._moments = _moments(self._level.values())

    def _add_extreme(self, value: float, new: bool) -> None:
        """``value`` (a ``new`` extreme or not) into the record's history: the window's
        worth being filled, kept among the earlier ones once it has :attr:`window`
        readings."""
        filling = self._filling
        filling[0] += 1
        if new:  # a new high lies above the median, a new low below it
            filling[2 if value > self._level.median_and_sigma()[0] else 1] += 1
        if filling[0] >= self.window:  # the level window holds just these readings now
            low, high = self._level.quantile(0.0), self._level.quantile(1.0)
            self._extremes.append([low, high, *filling])
            self._filling = [0.0, 0.0, 0.0]
            self._past = _span(self._extremes)

    def _look_for_cycle(self) -> None:
        """Take the cycle from the level window's autocorrelation if it has one shorter
        than a third of the window (else a day); a new cycle starts the day question's
        memory afresh."""
        lag = cycle_of(self._level.values())
        period = DAY_MS if lag is None else max(1, round(lag * self._usual))
        if abs(period - self._period_ms) <= 0.1 * self._period_ms:
            return
        if self._period_ms != DAY_MS and lag is not None:
            turns = round(period / self._period_ms)
            if turns >= 2 and abs(period - turns * self._period_ms) <= 0.1 * self._period_ms:
                return  # the same cycle, seen again a few turns on
        self._period_ms = period
        self._slot_ms = max(int(self._usual), period // MAX_SLOTS)
        self._profile.clear()
        self._day = RollingWindow(self.window)
        self._net = RollingWindow(self.window)
        self._smoothing, self._misses = None, RollingWindow(self.window)
        self._asked = [0.0, 0.0]
        self._last_usual = None

    def _remember_week(self, ts_ms: int, value: float) -> None:
        """The reading joins its hour of the week's mean for this week; weeks older than
        :data:`WEEKS` before it are forgotten."""
        _remember_in(self._week, WEEK_MS, HOUR_MS, ts_ms, value, WEEKS)

    def _remember(self, ts_ms: int, value: float) -> None:
        """The reading joins its slot's mean for today; days older than :data:`DAYS`
        before it are forgotten."""
        _remember_in(self._profile, self._period_ms, self._slot_ms, ts_ms, value, DAYS)

    def evidence(self) -> Evidence:
        return self._evidence


Profile = dict[int, list[list[float]]]
"""Slot: [[turn, sum, count, time sum], ...], a turn being a day or a week."""


def _on_turns(
    profile: Profile, period: int, width: int, ts_ms: int, turns: int, between: bool = True
) -> dict[float, float]:
    """The stream's value at ``ts_ms``'s time on each of the last ``turns`` turns of its
    cycle (by how many turns back) that has it: the slot's mean, taken as the value at its
    readings' mean time, drawn straight towards the neighbouring slot's on the reading's
    side. A stream that moves steadily through the day (a ramp, a smooth cycle) then
    differs from earlier days by about the same at every reading, not by a saw-tooth that
    jumps at each slot's edge; a stream read once a slot, at the time it was read before,
    is compared with that reading alone (a sharp edge of its cycle is not smoothed over).
    Not ``between``, the slot's mean as it is."""
    now, slot, slots = ts_ms // period, (ts_ms % period) // width, -(-period // width)
    at = ts_ms % period - slot * width  # the reading's time into its slot
    values: dict[float, float] = {}
    for entry in profile.get(slot, ()):
        turn = entry[0]
        if not now - turns <= turn < now:
            continue
        mean, centre = entry[1] / entry[2], entry[3] / entry[2]
        if at == centre or not between:
            values[now - turn] = mean
            continue
        side = 1 if at > centre else -1
        # across the cycle's end the neighbour lies in the next (or the previous) turn
        other = _entry(profile, (slot + side) % slots, turn + (slot + side) // slots)
        if other is None:
            continue
        there = other[3] / other[2] + side * width  # its mean time, in this slot's time
        values[now - turn] = mean + (other[1] / other[2] - mean) * (at - centre) / (there - centre)
    return values


def _entry(profile: Profile, slot: int, turn: float) -> list[float] | None:
    """The slot's entry of ``turn``, None if it has none."""
    for entry in profile.get(slot, ()):
        if entry[0] == turn:
            return entry
    return None


def _remember_in(
    profile: Profile, period: int, width: int, ts_ms: int, value: float, keep: int
) -> None:
    """The reading joins its slot's mean for its turn; turns older than ``keep`` before it
    are forgotten."""
    slot, turn = (ts_ms % period) // width, ts_ms // period
    entries = profile.setdefault(slot, [])
    at = float(ts_ms % period - slot * width)
    if entries and entries[-1][0] == turn:
        entries[-1][1] += value
        entries[-1][2] += 1
        entries[-1][3] += at
        return
    entries.append([float(turn), value, 1.0, at])
    while entries[0][0] < turn - keep:
        del entries[0]


def _timed(entry: list[float], width: int) -> list[float]:
    """A profile entry with its readings' time sum: an older snapshot's [day, sum, count]
    is taken as read at its slot's middle."""
    return entry if len(entry) == 4 else [*entry, entry[2] * width / 2]


def _moments(values: list[float]) -> list[float]:
    """The sum and sum of squares of ``values`` about their first, and that first (inf
    past the float range, as the running sums become, without numpy's warning)."""
    about = values[0] if values else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        x = np.asarray(values, dtype=np.float64) - about
        return [float(x.sum()), float(np.dot(x, x)), about]


def _span(extremes: deque[list[float]]) -> tuple[float, float, float, float, float]:
    """The lowest and highest of ``extremes`` ([low, high, readings, new lows, new highs]
    each), and their readings, new lows and new highs in all."""
    return (
        min((e[0] for e in extremes), default=math.inf),
        max((e[1] for e in extremes), default=-math.inf),
        sum(e[2] for e in extremes),
        sum(e[3] for e in extremes),
        sum(e[4] for e in extremes),
    )


def _wide_sigma(window: RollingWindow) -> float:
    """The window's spread from its 10th to its 90th percentile, in standard deviations of
    a normal (which has 2.5631 of them between the two)."""
    return (window.quantile(0.9) - window.quantile(0.1)) / 2.5631


_LN10 = math.log(10.0)


def _any_of(rarest: float, asked: int) -> float:
    """``-log10`` of the chance that any of ``asked`` independent questions is as rare as
    the rarest answer, ``rarest`` (Sidak): about ``rarest - log10(asked)``."""
    if rarest <= 0.0:
        return 0.0
    if rarest < 1.0:  # p near 1 (it rounds to 1 for a rarest under 1e-16): 1 - p as expm1
        q = -math.expm1(-rarest * _LN10)
        return -math.log1p(-(q**asked)) / _LN10
    p = 10.0**-rarest
    if p < 1e-15:  # 1 - (1 - p)^asked is asked * p to within rounding (or p underflows)
        return rarest - math.log10(asked)
    return rarest - math.log10(-math.expm1(asked * math.log1p(-p)) / p)


def _binomial_tail(count: int, n: int, rate: float) -> float:
    """P(X >= ``count``) for X binomial with ``n`` trials at ``rate``."""
    term = (1.0 - rate) ** n  # P(X = 0)
    below = 0.0
    for k in range(count):
        below += term
        term *= (n - k) / (k + 1) * rate / (1.0 - rate)
    return max(1.0 - below, 0.0) if below < 0.5 else _upper(count, n, rate, term)


def _upper(count: int, n: int, rate: float, term: float) -> float:
    """The same tail summed from ``count`` up (``term`` is P(X = count)): exact when it is
    small, where 1 minus the lower sum would lose it to rounding."""
    total = 0.0
    for k in range(count, n + 1):
        total += term
        term *= (n - k) / (k + 1) * rate / (1.0 - rate)
    return total


def cycle_of(values: list[float]) -> int | None:
    """The lag, in readings, at which ``values`` repeat (the highest peak of their
    autocorrelation between 4 readings and a third of their length, if it is at least
    :data:`PEAK` high and :data:`PEAK` above the lowest point before it); None if none.

    >>> cycle_of([math.sin(2 * math.pi * i / 24) for i in range(600)])
    24
    >>> cycle_of([float(i) for i in range(600)]) is None
    True
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 12:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        x = x - x.mean()
        power = float(np.dot(x, x))
    if not 0.0 < power < math.inf:  # flat, or past the float range
        return None
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: n // 3 + 1] / power
    lags = np.arange(4, len(acf) - 1)
    if not len(lags):
        return None
    peaks = lags[(acf[lags] > acf[lags - 1]) & (acf[lags] >= acf[lags + 1])]
    best = None
    for lag in peaks:
        height = acf[lag]
        deep = height >= PEAK and height - acf[1:lag].min() >= PEAK
        if deep and (best is None or height > acf[best]):
            best = int(lag)
    return best
