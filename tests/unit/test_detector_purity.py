"""The pure core stays pure: no Kafka, Faust, ClickHouse, Dash, environment, clock or
files under detectors/, except the CLI's file edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "detectors"
EDGE = {"__main__.py", "cli_io.py"}  # the CLI reads and writes files, nothing else does
FORBIDDEN_MODULES = {"kafka", "faust", "aiokafka", "clickhouse_driver", "dash", "os", "time",
                     "socket", "requests", "urllib", "subprocess", "threading", "asyncio",
                     "infra", "streams", "dashboard", "sensors_sim"}  # fmt: skip
FORBIDDEN_CALLS = {"open", "input", "print"}
FORBIDDEN_ATTRIBUTES = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"),
                        ("time", "time"), ("os", "environ"), ("os", "getenv")}  # fmt: skip


def modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_no_io_framework_or_clock_imports(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if (
        path.parent == CORE and path.name in EDGE
    ):  # the CLI may time itself; it still speaks to no service
        assert not imported(tree) & (FORBIDDEN_MODULES - {"time"})
        return
    assert not imported(tree) & FORBIDDEN_MODULES
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, (
                f"{path.name}:{node.lineno} {node.func.id}()"
            )
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in FORBIDDEN_ATTRIBUTES, (
                f"{path.name}:{node.lineno}"
            )
    assert "pathlib" not in imported(tree) and "yaml" not in imported(tree)


def test_the_walk_sees_every_module() -> None:
    found = {str(p.relative_to(CORE)) for p in modules()}
    assert found >= {"scoring/base.py", "alerting/engine.py", "scoring/monitor.py",
                     "evaluation/scenarios.py", "contract/events.py"}  # fmt: skip
