"""``citybrain-replay``: replay recorded history through the worker, in isolation.

citybrain-replay run --name storm1 --from 2026-11-25T05:00 --to 2026-11-25T19:00 --speed 60
citybrain-replay run --name d1_water --from ... --to ... --districts D1 --families water \
    --source kafka --detector-config candidate.yaml
citybrain-replay list
citybrain-replay compare storm1 storm2
citybrain-replay backtest --name flood --scenario scenarios/flood.yaml \
    --scenario-end 2026-11-26T01:01:35Z --config-a live.yaml --config-b candidate.yaml \
    --report flood.md
citybrain-replay delete storm1

Exit status: 0 done, 1 a service failed or the replay failed, 2 refused (bad input;
nothing was written).
"""

from __future__ import annotations

import sys
from typing import TextIO

import orjson
from clickhouse_driver.errors import Error as ClickHouseError
from kafka.errors import KafkaError

from infra.clickhouse import connect
from infra.settings import ReplaySettings, SettingsError, load
from replay import cli
from replay.kafka_source import KafkaReadError
from replay.monitor import ReplayFailed
from replay.progress import PROG

SERVICE_ERRORS = (KafkaError, ClickHouseError, OSError, ReplayFailed, KafkaReadError)


def main(argv: list[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:  # fmt: skip
    """Run one command; the exit status says how it went (see the module docstring)."""
    from replay.runner import Refused

    out, err = out or sys.stdout, err or sys.stderr
    try:
        command = cli.parse(argv)
        settings = load(ReplaySettings)
        return _dispatch(command, settings, out, err)
    except (cli.UsageError, SettingsError, Refused) as exc:
        err.write(f"{PROG}: {exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except SERVICE_ERRORS as exc:
        err.write(f"{PROG}: failed: {type(exc).__name__}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return 130


def _dispatch(command: cli.Command, settings: ReplaySettings, out: TextIO, err: TextIO) -> int:
    if command.name == "run":
        return _run(command, settings, out, err)
    if command.name == "backtest":
        return _backtest(command, settings, out, err)
    if command.name == "delete":
        from replay.manage import delete

        out.write(delete(settings, command.targets[0]) + "\n")
        return 0
    if command.name == "compare":
        return _compare(command, settings, out)
    from replay.manage import listing, listing_text

    entries = listing(settings, include_deleted=command.show_all)
    if command.as_json:
        out.writelines(orjson.dumps(e.as_dict()).decode() + "\n" for e in entries)
    else:
        out.write(listing_text(entries) + "\n")
    return 0


def _run(command: cli.Command, settings: ReplaySettings, out: TextIO, err: TextIO) -> int:
    from replay.runner import execute, plan

    assert command.run is not None
    checked = plan(command.run, settings)
    err.write(f"{PROG}: replaying {checked.extent.messages} messages into {checked.ns.database}"
              f" / {checked.ns.topic_prefix}.*\n")  # fmt: skip
    summary = execute(checked, settings, err)
    out.write((orjson.dumps(summary.record()).decode() if command.run.as_json
               else summary.text()) + "\n")  # fmt: skip
    return 0


def _backtest(command: cli.Command, settings: ReplaySettings, out: TextIO, err: TextIO) -> int:
    from replay.backtest import run_backtest

    args = command.backtest
    assert args is not None
    backtest, a, b = run_backtest(args, settings, err)
    d = backtest.diff()
    line = {"report": str(args.report), "replay_a": a.name, "replay_b": b.name,
            "alerts_a": len(backtest.a.spans), "alerts_b": len(backtest.b.spans),
            "only_a": len(d.only_a), "only_b": len(d.only_b), "both": len(d.both),
            "events": a.events}  # fmt: skip
    if args.as_json:
        out.write(orjson.dumps(line).decode() + "\n")
    else:
        out.write(f"{a.text()}\n{b.text()}\nreport: {args.report} (only A {line['only_a']}, "
                  f"only B {line['only_b']}, both {line['both']})\n")  # fmt: skip
    return 0


def _compare(command: cli.Command, settings: ReplaySettings, out: TextIO) -> int:
    from replay.canonical import compare, compare_text, dump
    from replay.namespace import namespace
    from replay.runner import Refused

    client = connect(settings, database="")
    try:
        databases = {name for (name,) in client.execute("SELECT name FROM system.databases")}
        dumps = []
        for name in command.targets:
            ns = namespace(name)
            if ns.database not in databases:
                raise Refused(f"no replay database {ns.database}")
            dumps.append(dump(client, ns.database))
    finally:
        client.disconnect()
    diffs = compare(dumps[0], dumps[1])
    out.write(compare_text(diffs, *command.targets) + "\n")
    return 0 if all(d.equal for d in diffs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
