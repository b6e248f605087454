"""Parser throughput: frames a second for every protocol, and random bytes a second.

Each protocol's own emulator writes 20,000 valid frames (weights climbing through the
indicator's range, some in motion, some net); a fresh parser is fed the stream in
64-byte chunks, as a serial line hands it over. The target is 100,000 frames a second
per parser: at 20 frames a second from the indicator that leaves the parser under
0.02 % of one core. Random bytes show what line noise (a wrong baud rate) costs.

Figures are medians of REPEATS runs. A shared machine runs slower at some moments
than at others, so before each run the same process times a baseline: the simplest
reader of the comma stream there could be (split the stream at CR LF, one
``Decimal`` a line). Each parser's figure is also given as a multiple of the
baseline's, which stays about the same however busy the machine is, and the rate by
the process's CPU time beside the rate by the clock.

Run alone with ``python -m bench parsers``; ``python -m bench.parsers --profile NAME``
prints a cProfile of one parser's hot spots.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal

from drivers.scale.protocol import IndicatorEmulator, ScaleProtocol
from drivers.scale.reading import IndicatorState
from drivers.scale.registry import PROTOCOL_NAMES, make_emulator, make_protocol

FRAMES = 20_000
CHUNK = 64
GARBAGE_BYTES = 1_000_000
REPEATS = 5
TARGET_FRAMES_PER_SECOND = 100_000


def _states(count: int) -> list[IndicatorState]:
    """Indicator states a busy counter goes through, without floats."""
    rng = random.Random(1)
    states = []
    for i in range(count):
        weight = Decimal(rng.randint(0, 150_000)) / 100  # 0.00 .. 1500.00 kg
        tare = Decimal("12.50") if i % 7 == 0 else Decimal("0.00")
        states.append(IndicatorState(weight=weight, motion=i % 5 == 0, tare=tare))
    return states


def frame_stream(name: str, count: int = FRAMES) -> bytes:
    """``count`` valid frames as the protocol's indicator sends them."""
    emulator: IndicatorEmulator = make_emulator(name)
    parser = make_protocol(name)
    request = parser.weight_request()
    parts: list[bytes] = []
    for state in _states(count):
        if emulator.continuous:
            parts.append(emulator.frame(state))
        else:
            assert request is not None, f"{name}: a polled emulator needs a weight request"
            parts.append(emulator.receive(request, state))
    return b"".join(parts)


def garbage_stream(size: int = GARBAGE_BYTES) -> bytes:
    return random.Random(2).randbytes(size)


def _chunks(data: bytes, size: int = CHUNK) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def feed_all(parser: ScaleProtocol, chunks: list[bytes]) -> tuple[int, int]:
    """Feed every chunk; (readings, readings of kind error)."""
    readings = errors = 0
    feed = parser.feed
    for chunk in chunks:
        for reading in feed(chunk):
            readings += 1
            if reading.kind == "error":
                errors += 1
    return readings, errors


def _baseline_feed(chunks: list[bytes]) -> int:
    """The simplest comma reader: split at CR LF, a Decimal a line; returns the lines."""
    tail = b""
    count = 0
    for chunk in chunks:
        *lines, tail = (tail + chunk).split(b"\r\n")
        for line in lines:
            Decimal(line[6:14].decode())
            count += 1
    return count


def _median_times(name: str, chunks: list[bytes]) -> tuple[float, float, float, int, int]:
    """Median seconds of REPEATS runs on a fresh parser, each run right after one of
    the baseline: (parser seconds, parser CPU seconds, baseline seconds per line,
    readings, errors)."""
    baseline_chunks = _chunks(frame_stream("comma", len(chunks) * CHUNK // 18 or 1))
    times: list[float] = []
    cpu_times: list[float] = []
    baseline_times: list[float] = []
    readings = errors = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        lines = _baseline_feed(baseline_chunks)
        baseline_times.append((time.perf_counter() - start) / lines)
        parser = make_protocol(name)
        start, start_cpu = time.perf_counter(), time.process_time()
        readings, errors = feed_all(parser, chunks)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - start_cpu)
    return (
        statistics.median(times),
        statistics.median(cpu_times),
        statistics.median(baseline_times),
        readings,
        errors,
    )


def measure(name: str) -> list[tuple[str, str]]:
    stream = frame_stream(name)
    seconds, cpu_seconds, baseline_seconds, readings, errors = _median_times(name, _chunks(stream))
    rate = readings / seconds
    baseline = 1 / baseline_seconds
    note = "" if rate >= TARGET_FRAMES_PER_SECOND else "  BELOW TARGET"
    if readings != FRAMES or errors:
        note += f"  ({readings} readings, {errors} errors from {FRAMES} frames)"
    figures = [
        (
            f"{name}: valid frames/s ({len(stream) // FRAMES} B/frame)",
            f"{rate:,.0f}, {rate / baseline:.2f} x baseline ({baseline:,.0f});"
            f" by CPU time {readings / cpu_seconds:,.0f}{note}",
        )
    ]
    noise = _chunks(garbage_stream())
    seconds, _, _, readings, _ = _median_times(name, noise[: len(noise) // 10])
    figures.append(
        (
            f"{name}: random bytes",
            f"{GARBAGE_BYTES / 10 / seconds / 1e6:.1f} MB/s ({readings * 10} readings/MB)",
        )
    )
    return figures


def run() -> list[tuple[str, str]]:
    figures: list[tuple[str, str]] = []
    for name in PROTOCOL_NAMES:
        try:
            figures.extend(measure(name))
        except Exception as exc:  # one broken parser must not hide the others' figures
            figures.append((f"{name}: valid frames/s", f"FAILED: {type(exc).__name__}: {exc}"))
    return figures


def profile(name: str, sort: str = "tottime", lines: int = 25) -> None:
    """Print where a parser spends its time on valid frames (cProfile)."""
    import cProfile
    import pstats

    chunks = _chunks(frame_stream(name))
    parser = make_protocol(name)
    run_feed: Callable[[], tuple[int, int]] = lambda: feed_all(parser, chunks)  # noqa: E731
    profiler = cProfile.Profile()
    profiler.runcall(run_feed)
    pstats.Stats(profiler).sort_stats(sort).print_stats(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--profile":
        profile(sys.argv[2])
    else:
        for figure, value in run():
            print(f"{figure:<55} {value}")
