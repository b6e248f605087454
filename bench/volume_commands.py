"""The supervisor's commands on a million drop-offs, each next to a bare baseline.

``counter totals --day``, ``counter export`` (a whole year to CSV) and ``counter verify``
run as real processes of ``.venv/bin/counter``; each baseline does the same work with
nothing but the standard library (``sqlite3``, ``csv``, ``hashlib``) in the same run,
alternating with the command. Figures are medians of RUNS runs; a process's peak
memory is its own maximum resident set size (``wait4``), and its CPU time (user and
system) is given beside its wall time, which a busy machine stretches more.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.bare import bare_totals
from bench.volume import (
    VENV_BIN,
    bench_env,
    config_file,
    million_database,
)
from db.domain import STATION_TZ as LOCAL_TZ
from db.queries import totals_for_day

RUNS = 3
MIB = 1024 * 1024


@dataclass(frozen=True)
class Process:
    seconds: float
    max_rss: int  # bytes
    cpu_seconds: float  # user and system
    returncode: int
    stdout: str


def run_process(argv: list[str], env: dict[str, str] | None = None) -> Process:
    """Run ``argv`` to its end: wall time, its peak resident memory, its CPU time, its
    output.

    The peak and the CPU time come from ``/usr/bin/time``: a process forked straight
    from this one would count this process's own peak in its ``ru_maxrss``.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", peak.name, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        out.seek(0)
        kib, user, system = peak.read().strip().splitlines()[-1].split()
        cpu = float(user) + float(system)
        return Process(seconds, int(kib) * 1024, cpu, proc.returncode, out.read())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def compared(
    what: str, value: float, baseline: float, aim: str, met: bool, unit: Callable[[float], str] = ms
) -> tuple[str, str]:
    """One figure next to its baseline, their ratio and whether the aim is met."""
    ratio = value / baseline if baseline else float("inf")
    verdict = "met" if met else "NOT MET"
    return (what, f"{unit(value)} | bare {unit(baseline)} | {ratio:.2f}x | aim {aim}: {verdict}")


class Counter:
    """``counter`` as a process, configured for one database."""

    def __init__(self, database: Path, folder: Path) -> None:
        self.config = config_file(database, folder)
        self.env = bench_env(folder)

    def run(self, *args: str) -> Process:
        argv = [str(VENV_BIN / "counter"), "--config", str(self.config), *args]
        result = run_process(argv, self.env)
        if result.returncode != 0:
            raise RuntimeError(f"counter {' '.join(args)} failed:\n{result.stdout[-2000:]}")
        return result


def bare(*args: str) -> Process:
    """A baseline of bench.bare as a process of its own."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = run_process([str(VENV_BIN / "python"), "-m", "bench.bare", *args], env)
    if result.returncode != 0:
        raise RuntimeError(f"baseline {' '.join(args)} failed:\n{result.stdout[-2000:]}")
    return result


def last_day(database: Path) -> date:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (newest,) = connection.execute("SELECT max(recorded_at) FROM drop_off").fetchone()
    return datetime.fromisoformat(newest).astimezone(LOCAL_TZ).date()


def measure_totals(database: Path, counter: Counter) -> list[tuple[str, str]]:
    from db.engine import open_database

    day = last_day(database)
    engine = open_database(database, create=False, read_only=True)
    in_process, baseline, command, bare_command = [], [], [], []
    try:
        totals_for_day(engine, day)  # the engine's first connection is not the query
        for _ in range(RUNS * 3):
            start = time.perf_counter()
            totals = totals_for_day(engine, day)
            in_process.append(time.perf_counter() - start)
            start = time.perf_counter()
            count, _ = bare_totals(database, day)
            baseline.append(time.perf_counter() - start)
            assert count == totals.count, (count, totals.count)
        for _ in range(RUNS):
            command.append(counter.run("totals", "--day", day.isoformat()).seconds)
            bare_command.append(bare("totals", str(database), day.isoformat()).seconds)
    finally:
        engine.dispose()
    in_process_s, bare_s = statistics.median(in_process), statistics.median(baseline)
    command_s, bare_command_s = statistics.median(command), statistics.median(bare_command)
    return [
        (f"totals of {day} ({totals.count} drop-offs)", ""),
        compared(
            "  totals_for_day in the process",
            in_process_s,
            bare_s,
            "< 50 ms",
            in_process_s < 0.05,
        ),
        compared(
            "  counter totals --day (the command; bare: a python process)",
            command_s,
            bare_command_s,
            "< 0.5 s",
            command_s < 0.5,
        ),
    ]


def measure_export(database: Path, counter: Counter, folder: Path) -> list[tuple[str, str]]:
    last = last_day(database)
    first = last - timedelta(days=364)
    ours, bare_csv = folder / "export.csv", folder / "bare.csv"
    command: list[Process] = []
    baseline: list[Process] = []
    for _ in range(RUNS):
        ours.unlink(missing_ok=True)
        command.append(
            counter.run(
                "export",
                "--from",
                first.isoformat(),
                "--to",
                last.isoformat(),
                "--format",
                "csv",
                "--output",
                str(ours),
            )
        )
        baseline.append(bare("export", str(database), str(first), str(last), str(bare_csv)))
    identical = ours.read_bytes() == bare_csv.read_bytes()
    lines = ours.read_bytes().count(b"\n") - 1
    seconds = statistics.median(p.seconds for p in command)
    bare_seconds = statistics.median(p.seconds for p in baseline)
    cpu = statistics.median(p.cpu_seconds for p in command)
    bare_cpu = statistics.median(p.cpu_seconds for p in baseline)
    memory = statistics.median(p.max_rss for p in command)
    bare_memory = statistics.median(p.max_rss for p in baseline)
    return [
        (
            f"export {first} to {last} as CSV ({lines:,} drop-offs, "
            f"{ours.stat().st_size / MIB:.0f} MiB)",
            "byte-identical to the bare export" if identical else "DIFFERS from the bare export",
        ),
        compared(
            "  counter export (the command, wall time)",
            seconds,
            bare_seconds,
            "within 1.5x",
            seconds <= 1.5 * bare_seconds,
        ),
        compared(
            "  counter export (the command, CPU time)",
            cpu,
            bare_cpu,
            "within 1.5x",
            cpu <= 1.5 * bare_cpu,
        ),
        compared(
            "  counter export peak memory (max RSS)",
            memory,
            bare_memory,
            "< 100 MB",
            memory < 100_000_000,
            unit=lambda b: f"{b / MIB:.0f} MiB",
        ),
    ]


def measure_verify(database: Path, counter: Counter) -> list[tuple[str, str]]:
    # Every plain verify that passes keeps its anchors in DATABASE.verified, the
    # starting point of --since-last; a leftover from an older run must not count.
    verified = database.with_name(database.name + ".verified")
    verified.unlink(missing_ok=True)
    command: list[Process] = []
    baseline: list[Process] = []
    walked = ""
    for _ in range(RUNS):
        command.append(counter.run("verify"))
        result = bare("verify", str(database))
        baseline.append(result)
        walked = result.stdout.strip()
    seconds = statistics.median(p.seconds for p in command)
    bare_seconds = statistics.median(p.seconds for p in baseline)
    memory = statistics.median(p.max_rss for p in command)
    bare_memory = statistics.median(p.max_rss for p in baseline)
    since_last = [counter.run("verify", "--since-last") for _ in range(RUNS)]
    walked_since = since_last[-1].stdout.splitlines()
    return [
        ("verify", f"bare walk: {walked}"),
        compared(
            "  counter verify (the command)",
            seconds,
            bare_seconds,
            "within 1.5x",
            seconds <= 1.5 * bare_seconds,
            unit=lambda s: f"{s:.1f} s",
        ),
        compared(
            "  counter verify peak memory (max RSS)",
            memory,
            bare_memory,
            "< 100 MB",
            memory < 100_000_000,
            unit=lambda b: f"{b / MIB:.0f} MiB",
        ),
        (
            "  counter verify --since-last, nothing added (aim < 1 s)",
            f"{ms(statistics.median(p.seconds for p in since_last))}"
            f" ({next((line for line in walked_since if 'OK' in line), '?')})",
        ),
    ]


def run(parts: tuple[str, ...] = ("totals", "export", "verify")) -> list[tuple[str, str]]:
    """The figures of ``parts`` (``totals``, ``export``, ``verify``)."""
    database = million_database()
    with tempfile.TemporaryDirectory(prefix="bench-volume-") as tmp:
        folder = Path(tmp)
        counter = Counter(database, folder)
        figures: list[tuple[str, str]] = []
        measures: dict[str, Callable[[], list[tuple[str, str]]]] = {
            "totals": lambda: measure_totals(database, counter),
            "export": lambda: measure_export(database, counter, folder),
            "verify": lambda: measure_verify(database, counter),
        }
        for measure in (measures[part] for part in parts):
            try:
                figures.extend(measure())
            except Exception as exc:  # one failure must not hide the other figures
                figures.append(("FAILED", f"{type(exc).__name__}: {exc}"))
    return figures


if __name__ == "__main__":
    # python -m bench.volume_commands [totals] [export] [verify]: only those figures.
    for figure, value in run(tuple(sys.argv[1:]) or ("totals", "export", "verify")):
        print(f"{figure:<55} {value}")
