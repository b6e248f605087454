"""Parser throughput: frames a second for every protocol, and random bytes a second.

Each protocol's own emulator writes 20,000 valid frames (weights climbing through the
indicator's range, some in motion, some net); a fresh parser is fed the stream in
64-byte chunks, as a serial line hands it over. The target is 100,000 frames a second
per parser: at 20 frames a second from the indicator that leaves the parser under
0.02 % of one core. Random bytes show what line noise (a wrong baud rate) costs.

Figures are medians of REPEATS runs. A shared machine runs slower at some moments
than at others, so the same process also times a baseline: the simplest reader of
the comma stream there could be (split the stream at CR LF, one ``Decimal`` a
line). Each parser's figure is given as a multiple of it too, which stays about
the same however busy the machine is.

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


def _median_time(name: str, chunks: list[bytes]) -> tuple[float, int, int]:
    """The median of REPEATS runs on a fresh parser: (seconds, readings, errors)."""
    times: list[float] = []
    readings = errors = 0
    for _ in range(REPEATS):
        parser = make_protocol(name)
        start = time.perf_counter()
        readings, errors = feed_all(parser, chunks)
        times.append(time.perf_counter() - start)
    return statistics.median(times), readings, errors


def baseline_rate() -> float:
    """Frames a second of the simplest comma reader: split at CR LF, a Decimal a line."""
    chunks = _chunks(frame_stream("comma"))
    times: list[float] = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        tail = b""
        count = 0
        for chunk in chunks:
            *lines, tail = (tail + chunk).split(b"\r\n")
            for line in lines:
                Decimal(line[6:14].decode())
                count += 1
        times.append(time.perf_counter() - start)
    return FRAMES / statistics.median(times)


def measure(name: str, baseline: float) -> list[tuple[str, str]]:
    stream = frame_stream(name)
    seconds, readings, errors = _median_time(name, _chunks(stream))
    rate = readings / seconds
    note = "" if rate >= TARGET_FRAMES_PER_SECOND else "  BELOW TARGET"
    if readings != FRAMES or errors:
        note += f"  ({readings} readings, {errors} errors from {FRAMES} frames)"
    figures = [
        (
            f"{name}: valid frames/s ({len(stream) // FRAMES} B/frame)",
            f"{rate:,.0f} ({rate / baseline:.2f} x baseline){note}",
        )
    ]
    noise = _chunks(garbage_stream())
    seconds, readings, _ = _median_time(name, noise)
    figures.append(
        (
            f"{name}: random bytes",
            f"{GARBAGE_BYTES / seconds / 1e6:.1f} MB/s ({readings} readings/MB)",
        )
    )
    return figures


def run() -> list[tuple[str, str]]:
    baseline = baseline_rate()
    figures: list[tuple[str, str]] = [
        ("baseline: split at CR LF, a Decimal a line", f"{baseline:,.0f}")
    ]
    for name in PROTOCOL_NAMES:
        try:
            figures.extend(measure(name, baseline))
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
