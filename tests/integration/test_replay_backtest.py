"""A backtest on the real services: the flood scenario played live by the simulator (moved
to end now) and recorded by a live worker, then replayed under two detector configurations
over the scenario's range, and the report written.

The two configurations are the same here, so the comparison must find every alert in
both and none in only one, whatever the detectors raise.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from infra.settings import CommonSettings
from replay.cli import parse_time
from replay.report import when
from tests.integration.harness import (
    ROOT,
    WorkerProcess,
    process_env,
    rows,
    scalar,
    stored_counts,
    wait_for,
)
from tests.integration.test_replay_support import forget, live_namespace, replay_cli

pytestmark = pytest.mark.integration

SCENARIO = ROOT / "scenarios" / "flood.yaml"


@pytest.fixture(scope="module")
def flood(services: CommonSettings) -> Iterator[tuple[CommonSettings, dict[str, Any]]]:
    """A live namespace holding the flood scenario; (settings, the simulator's summary)."""
    with live_namespace(services) as live:
        env = process_env(live)
        log = ROOT / ".local" / "test-logs" / f"{live.kafka_topic_prefix}-flood.log"
        worker = WorkerProcess(env, log)
        worker.start()
        try:
            command = [sys.executable, "-m", "sensors_sim", "scenario", "--name", "flood"]
            played = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                    timeout=300)  # fmt: skip
            assert played.returncode == 0, played.stderr[-3000:]
            summary = orjson.loads(played.stdout.strip().splitlines()[-1])
            wait_for(lambda: stored_counts(live)["raw"] >= summary["events"], 180,
                     "the flood recorded by the live worker", worker.log_tail)  # fmt: skip
            yield live, summary
        finally:
            worker.stop()


def test_two_configurations_over_a_scenario_give_a_report(
    flood: tuple[CommonSettings, dict[str, Any]], tmp_path: Path
) -> None:
    live, played = flood
    name = f"bt_{live.kafka_topic_prefix.rsplit('-', 1)[1][:6]}"
    config_a, config_b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    config_a.write_text("# the detectors as configured live\n{}\n")
    config_b.write_text("# the same again: a backtest against itself finds no difference\n{}\n")
    report = tmp_path / "flood.md"
    try:
        done = replay_cli(live, "backtest", "--name", name, "--scenario", str(SCENARIO),
                          "--scenario-end", played["end"], "--config-a", str(config_a),
                          "--config-b", str(config_b), "--report", str(report), "--json",
                          timeout=240)  # fmt: skip
        assert done.returncode == 0, done.stderr[-40000:]
        line = orjson.loads(done.stdout.strip().splitlines()[-1])
        assert line["events"] == played["events"]
        assert line["alerts_a"] == line["alerts_b"] == line["both"]
        assert line["only_a"] == line["only_b"] == 0
        text = report.read_text()
        assert text.startswith(f"# Backtest {name}\n")
        start, end = (parse_time(played[k], k) for k in ("start", "end"))
        assert f"- range: {when(start)} to {when(end)} UTC" in text  # the scenario, as played
        window = played["labels"][0]
        row = f"| rainstorm and river flood | area_incident | D1 | {when(window['start_ms'])} |"
        assert row in text
        for side, config in ((f"{name}_a", config_a), (f"{name}_b", config_b)):
            assert (
                scalar(live, f"SELECT count() FROM replay_{side}.events_raw FINAL")
                == (played["events"])
            )
            for table in ("areas", "sources", "source_profiles"):  # the reference, copied
                copied = scalar(live, f"SELECT count() FROM replay_{side}.{table} FINAL")
                assert copied == scalar(live, f"SELECT count() FROM {table} FINAL") > 0, table
            stored = rows(live, "SELECT status, config_file, detector_config FROM replays FINAL "
                                f"WHERE name = '{side}'")  # fmt: skip
            assert stored == [("finished", str(config), config.read_text())]
    finally:
        forget(live, f"{name}_a", f"{name}_b")
