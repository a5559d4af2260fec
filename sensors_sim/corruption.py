"""Ways a sensor reading goes bad on the wire, each mapped to the dead-letter reason the
worker must give it.

Each corruption starts from the wire document of a valid reading
(:func:`detectors.contract.wire.reading_document`) and breaks exactly one thing of it, so
that validation, which checks in a fixed order, stops at the intended reason and no
earlier one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import orjson

from detectors.contract.events import METRICS, SENSOR_FAMILIES, Location
from detectors.contract.validation import Reason
from detectors.contract.wire import Document, encode_document

Corruption = Callable[[Document, random.Random, Sequence[Location]], bytes]

FUTURE_SHIFT_MS = 2 * 24 * 3600 * 1000


def _truncated(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    # Any strict prefix of a JSON object lacks its closing brace.
    raw = encode_document(doc)
    return raw[: rng.randrange(1, len(raw))]


def _array(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    return orjson.dumps(list(doc.values()))


def _missing_field(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    gone = rng.choice(sorted(doc))
    return encode_document({name: field for name, field in doc.items() if name != gone})


def _value_as_text(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    return encode_document({**doc, "value": str(doc["value"])})


def _future_schema(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    return encode_document({**doc, "schema_version": 99})


def _out_of_range(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    spec = METRICS[str(doc["metric"])]
    overshoot = (spec.high - spec.low) * rng.uniform(0.1, 1.0)
    wild = spec.high + overshoot if rng.random() < 0.5 else spec.low - overshoot
    return encode_document({**doc, "value": round(wild, 3)})


def _unknown_source(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    # Registered ids never carry a suffix, so this one cannot be registered.
    return encode_document({**doc, "source_id": f"{doc['source_id']}-X{rng.randrange(100)}"})


def _future_timestamp(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    ts = doc["ts"]
    assert isinstance(ts, int)
    return encode_document({**doc, "ts": ts + FUTURE_SHIFT_MS})


def _moved(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    elsewhere = [grid for grid in grids if grid.grid != doc["grid"]]
    if not elsewhere:  # a one-cell city: a cell code that is not there at all
        elsewhere = [Location(str(doc["city"]), str(doc["district"]), str(doc["street"]), "G0")]
    where = rng.choice(elsewhere)
    moved = {"city": where.city, "district": where.district, "street": where.street}
    return encode_document({**doc, **moved, "grid": where.grid})


def _foreign_metric(doc: Document, rng: random.Random, grids: Sequence[Location]) -> bytes:
    # A metric of another sensor family stays unknown on this topic whatever the contract
    # adds later.
    family = METRICS[str(doc["metric"])].family
    foreign = sorted(
        name
        for name, spec in METRICS.items()
        if spec.family in SENSOR_FAMILIES and spec.family != family
    )
    return encode_document({**doc, "metric": rng.choice(foreign)})


CORRUPTIONS: tuple[tuple[str, Corruption], ...] = (
    (Reason.MALFORMED_JSON, _truncated),
    (Reason.NOT_AN_OBJECT, _array),
    (Reason.MISSING_FIELD, _missing_field),
    (Reason.WRONG_TYPE, _value_as_text),
    (Reason.BAD_SCHEMA_VERSION, _future_schema),
    (Reason.OUT_OF_RANGE, _out_of_range),
    (Reason.UNKNOWN_SOURCE, _unknown_source),
    (Reason.TIMESTAMP_IN_FUTURE, _future_timestamp),
    (Reason.LOCATION_MISMATCH, _moved),
    (Reason.UNKNOWN_METRIC, _foreign_metric),
)
"""Corruptions in the order the generator cycles through them, with the reason each gets."""
