"""The integration tests' namespace: a database and topic prefix of the test's own, which
``isolated`` (tests/conftest.py) drops afterwards with the worker's topics and data.
Files whose tests need the topics made first define their own ``namespace``."""

from __future__ import annotations

import pytest

from infra.settings import CommonSettings


@pytest.fixture
def namespace(isolated: CommonSettings) -> CommonSettings:
    return isolated
