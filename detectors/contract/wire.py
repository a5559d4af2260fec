"""The wire codec of events: the one place that knows how a reading and a case event look
as JSON on a family topic. Every producer encodes with it and validation decodes with it.

A reading's document has the header, ``metric`` and ``value``, then the place codes; a
case event's has the header, ``case_id``, ``category``, ``status``, the place codes,
``lon``/``lat`` and the optional free text ``text`` and ``photo_ref``. Pure: no I/O.

>>> from detectors.contract.events import Location
>>> where = Location("CB", "D1", "D1-S2", "D1-S2-G03")
>>> reading = Reading("5b0c1d2e-0000-5000-8000-000000000001", 1764115200000,
...                   Family.WATER, "WAT-0007", "water_level", 3.42, where)
>>> raw = encode_reading(reading)
>>> raw[:60]
b'{"event_id":"5b0c1d2e-0000-5000-8000-000000000001","schema_v'
>>> key_of(reading)
b'D1'
>>> family, doc = decode(raw, None)
>>> family, doc["value"], doc["grid"]
(<Family.WATER: 'water'>, 3.42, 'D1-S2-G03')
"""

from __future__ import annotations

import orjson

from detectors.contract.events import SCHEMA_VERSION, CaseReport, Family, Reading

Document = dict[str, object]
"""An event as the JSON object on the wire, before validation gives it meaning."""
FieldTypes = dict[str, type | tuple[type, ...]]

NUMBER = (int, float)
"""A JSON number: a whole number such as ``40`` is as good as ``40.0``."""

_HEADER: FieldTypes = {
    "event_id": str,
    "schema_version": int,
    "ts": int,
    "family": str,
    "source_id": str,
}
_PLACE: FieldTypes = {"city": str, "district": str, "street": str, "grid": str}

READING_FIELDS: FieldTypes = {**_HEADER, "metric": str, "value": NUMBER, **_PLACE}
"""The fields every reading carries, in wire order, with the JSON types they must have."""

CASE_FIELDS: FieldTypes = {
    **_HEADER, "case_id": str, "category": str, "status": str, **_PLACE,
    "lon": NUMBER, "lat": NUMBER,
}  # fmt: skip
"""The fields every case event carries, in wire order; ``text`` and ``photo_ref`` follow
and may be missing or null (read as empty)."""

# Dead-letter codes of bytes that are not a well-formed event document; validation.Reason
# names them too, so the worker labels them like every other reason.
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
WRONG_FAMILY = "wrong_family"


class WireError(ValueError):
    """Bytes that do not decode into an event document: a dead-letter reason and detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def fields_of(family: Family) -> FieldTypes:
    """The required fields of an event on ``family``'s topic."""
    return CASE_FIELDS if family is Family.CASE else READING_FIELDS


# One literal per kind, not merged parts: encoding is on the simulator's hot path.
def reading_document(reading: Reading) -> Document:
    """The wire document of a sensor reading (values are written as given, not coerced)."""
    where = reading.location
    return {
        "event_id": reading.event_id, "schema_version": SCHEMA_VERSION, "ts": reading.ts_ms,
        "family": reading.family.value, "source_id": reading.source_id,
        "metric": reading.metric, "value": reading.value,
        "city": where.city, "district": where.district, "street": where.street,
        "grid": where.grid,
    }  # fmt: skip


def case_document(case: CaseReport) -> Document:
    """The wire document of a case event: a new report or a lifecycle step."""
    where = case.location
    return {
        "event_id": case.event_id, "schema_version": SCHEMA_VERSION, "ts": case.ts_ms,
        "family": Family.CASE.value, "source_id": case.source_id,
        "case_id": case.case_id, "category": case.category, "status": case.status,
        "city": where.city, "district": where.district, "street": where.street,
        "grid": where.grid, "lon": case.lon, "lat": case.lat,
        "text": case.text, "photo_ref": case.photo_ref,
    }  # fmt: skip


def encode_document(doc: Document) -> bytes:
    """The bytes of a wire document, written the one way every producer writes them."""
    return orjson.dumps(doc)


def encode_reading(reading: Reading) -> bytes:
    """The bytes of a sensor reading on its family's topic."""
    return encode_document(reading_document(reading))


def encode_case(case: CaseReport) -> bytes:
    """The bytes of a case event on the case topic."""
    return encode_document(case_document(case))


def key_of(event: Reading | CaseReport) -> bytes:
    """The Kafka key of an event: its district. Everything that must meet in one worker
    lands on one partition with it (a neighbour group's sensors, a district's detectors and
    case streams), and each sensor's readings and each case's lifecycle still stay in order,
    since a place never changes district. Any producer that keys by district (Kafka's
    default partitioner, murmur2) lands where the worker expects; an event without a
    district falls back to its source or case id."""
    if event.location.district:
        return event.location.district.encode()
    if isinstance(event, CaseReport):
        return event.case_id.encode()
    return event.source_id.encode()


def decode(raw: bytes, family: Family | None) -> tuple[Family, Document]:
    """The family and document of the bytes of one event, with every field of its kind
    present and of the right JSON type; raises :class:`WireError` otherwise.
    ``family`` is the topic's; None (a merged topic) takes the one the event declares.

    >>> try:
    ...     decode(b'[1, 2]', Family.WATER)
    ... except WireError as bad:
    ...     print(bad.reason, "-", bad.detail)
    not_an_object - expected a JSON object, got list
    """
    doc = _object(raw)
    if family is None:
        family = _declared_family(doc)
    _check_fields(doc, fields_of(family))
    return family, doc


def _object(raw: bytes) -> Document:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise WireError(NOT_AN_OBJECT, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def _declared_family(doc: Document) -> Family:
    declared = doc.get("family")
    if declared is None:
        raise WireError(MISSING_FIELD, "field 'family' is missing")
    if not isinstance(declared, str) or declared not in Family._value2member_map_:
        raise WireError(WRONG_FAMILY, f"family {str(declared)[:32]!r} is unknown")
    return Family(declared)


def _check_fields(doc: Document, fields: FieldTypes) -> None:
    """Raise :class:`WireError` unless every one of ``fields`` is present, not null and of
    its JSON type, checked in wire order so the first bad field is the one named."""
    for name, expected in fields.items():
        if name not in doc or doc[name] is None:
            raise WireError(MISSING_FIELD, f"field {name!r} is missing")
        value = doc[name]
        # bool is an int subclass; a flag sent as true/false is still a wrong type.
        if isinstance(value, bool) or not isinstance(value, expected):
            raise WireError(
                WRONG_TYPE,
                f"field {name!r} has type {type(value).__name__}, expected {_type_name(expected)}",
            )


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return "number"
    return {str: "string", int: "integer"}.get(expected, expected.__name__)
