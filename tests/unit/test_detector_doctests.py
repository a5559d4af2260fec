"""The examples in the pure core's docstrings run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import detectors

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(detectors.__path__, "detectors.")
    if m.name != "detectors.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
