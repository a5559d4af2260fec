"""A query that is one SELECT, declared in one line of a provider class.

``alarms = Select(sql.ALARMS, each(rows.alert))`` makes ``alarms`` a method with the
signature :class:`~dashboard.query_protocol.Queries` declares for it: its arguments and
the viewer's scope become the SQL parameters, and ``answer`` turns the rows into the
result. Queries that need more than one statement stay hand-written methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from dashboard.query_protocol import signature_of
from dashboard.scope import Scope

T = TypeVar("T")
Row = tuple[Any, ...]


class Provider(Protocol):
    """What a Select runs on: a statement runner and the area check."""

    def _execute(self, text: str, params: dict[str, Any] | None = None) -> list[Row]: ...

    def _area_params(self, scope: Scope, level: str, code: str) -> dict[str, Any]: ...


class Select(Generic[T]):
    """One query answered by one SELECT. With ``in_area`` its (level, code) arguments are
    checked against the scope first (ScopeError, NotFound) and the code made canonical;
    ``fixed`` parameters are the same on every call."""

    def __init__(
        self,
        text: str,
        answer: Callable[[list[Row]], T],
        in_area: bool = False,
        fixed: Mapping[str, Any] | None = None,
    ) -> None:
        self.text = text
        self.answer = answer
        self.in_area = in_area
        self.fixed = dict(fixed or {})
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.signature = signature_of(name)

    def __get__(self, provider: Provider, owner: type | None = None) -> Callable[..., T]:
        def query(*args: Any, **kwargs: Any) -> T:
            return self.answer(provider._execute(self.text, self._params(provider, args, kwargs)))

        params = list(self.signature.parameters.values())[1:]
        query.__name__ = self.name
        query.__signature__ = self.signature.replace(parameters=params)  # type: ignore[attr-defined]
        return query

    def _params(self, provider: Provider, args: Any, kwargs: Any) -> dict[str, Any]:
        bound = self.signature.bind(provider, *args, **kwargs)
        bound.apply_defaults()
        given = {k: _sql_value(v) for k, v in bound.arguments.items() if k != "self"}
        scope: Scope = given.pop("scope")
        if self.in_area:
            checked = provider._area_params(scope, given["level"], given["code"])
        else:
            checked = scope.sql_params()
        return {**given, **self.fixed, **checked}


def _sql_value(value: Any) -> Any:
    """Sequences as tuples: clickhouse-driver renders a tuple for ``IN %(name)s``."""
    return tuple(value) if isinstance(value, list | tuple | set | frozenset) else value


def each(row: Callable[..., T]) -> Callable[[list[Row]], list[T]]:
    """The answer of a query that returns one record per row."""
    return lambda found: [row(*values) for values in found]


def first(row: Callable[..., T]) -> Callable[[list[Row]], T | None]:
    """The answer of a query that looks one thing up: its record, or None."""
    return lambda found: row(*found[0]) if found else None


def first_int(found: list[Row]) -> int:
    """The answer of a query that computes one number (0 when it is NULL)."""
    return int(found[0][0] or 0)
