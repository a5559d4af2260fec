"""Validation under arbitrary input: whatever bytes reach a topic, the worker gets an event
or a dead-letter reason it knows, never an exception (one would stop the batch)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors.contract.events import CaseReport, Family, Reading
from detectors.contract.validation import Invalid, Reason, validate
from tests.unit.test_validation import BOUNDS, REGISTRY, case, reading

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FAMILIES = st.sampled_from([*Family, None])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: JSON has no limit, orjson has
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _encoded(value: Any) -> bytes:
    # json, not orjson: it writes what orjson refuses (NaN, huge integers, lone surrogates).
    return json.dumps(value).encode("utf-8", "surrogatepass")


def _known_verdict(raw: bytes, family: Family | None) -> None:
    verdict = validate(raw, family, REGISTRY, BOUNDS)
    if isinstance(verdict, Invalid):
        assert verdict.reason in Reason.ALL, verdict
        assert isinstance(verdict.detail, str)
    else:
        assert isinstance(verdict, Reading | CaseReport)


@FUZZ
@given(raw=st.binary(max_size=512), family=FAMILIES)
def test_arbitrary_bytes_get_a_known_verdict(raw: bytes, family: Family | None) -> None:
    _known_verdict(raw, family)


@FUZZ
@given(value=JSON_VALUES, family=FAMILIES)
def test_arbitrary_json_gets_a_known_verdict(value: Any, family: Family | None) -> None:
    _known_verdict(_encoded(value), family)


@FUZZ
@given(
    base=st.sampled_from([reading, case]),
    changes=st.dictionaries(
        st.sampled_from(sorted({*reading(), *case(), "text", "photo_ref"})), JSON_VALUES, max_size=4
    ),
    family=FAMILIES,
)
def test_events_with_arbitrary_field_values_get_a_known_verdict(
    base: Any, changes: dict[str, Any], family: Family | None
) -> None:
    """Near misses: a well-formed event with some fields replaced by any JSON value, the
    input most likely to get past decoding and trip a later check."""
    _known_verdict(_encoded(base(**changes)), family)
