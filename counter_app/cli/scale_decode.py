"""``counter scale decode``: raw indicator bytes (or a monitor log) to one JSON object
per frame, the contract in the README."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import IO

from counter_app.cli.context import CliContext
from counter_app.cli.scale_protocols import (
    CliProblem,
    build_protocol,
    parse_options,
    say_problem,
)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    # read1 hands over what a pipe has now, so `cat /dev/ttyUSB0 | counter scale
    # decode` prints readings as they arrive instead of at the end.
    read = getattr(stream, "read1", stream.read)
    while True:
        chunk = read(4096)
        if not chunk:
            return
        yield bytes(chunk)


#: First line of a ``counter scale monitor --log`` file; ``decode`` recognises it.
MONITOR_LOG_HEADER = "# counter scale monitor log: ISO time, rx|tx, hex bytes, two spaces, text"


def monitor_log_chunks(lines: Iterator[str]) -> Iterator[bytes]:
    """The received bytes of a monitor log, in order (``tx`` lines are our requests).

    A line is ``<time> <rx|tx> <hex bytes, one space apart>  <printable text>``; the
    two spaces end the hex, so the text column can never be mistaken for bytes.
    """
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) < 3 or parts[1] != "rx":
            continue
        hex_part = parts[2].partition("  ")[0]
        try:
            yield bytes.fromhex(hex_part)
        except ValueError:
            raise CliProblem(f"not a monitor log line: {line.strip()[:60]!r}") from None


def _capacity_argument(text: str | None) -> Decimal | None:
    from counter_app.config import parse_capacity

    if text is None:
        return None
    try:
        return parse_capacity(text)
    except ValueError as exc:
        raise CliProblem(f"--capacity-kg: {exc}") from None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        protocol = build_protocol(
            args.protocol, parse_options(args.option), _capacity_argument(args.capacity_kg)
        )
        with ExitStack() as stack:
            if args.file:
                try:
                    stream: IO[bytes] = stack.enter_context(Path(args.file).open("rb"))
                except OSError as exc:
                    raise CliProblem(f"cannot read {args.file}: {exc.strerror or exc}") from None
            else:
                stream = sys.stdin.buffer
            chunks = _chunks(stream)
            first = next(chunks, b"")
            if first.startswith(MONITOR_LOG_HEADER.encode()):
                # A log written by `counter scale monitor --log`: decode what it saw.
                text = (first + b"".join(chunks)).decode("utf-8", "replace")
                chunks = monitor_log_chunks(iter(text.splitlines(keepends=True)))
            else:
                chunks = itertools.chain([first], chunks)
            timeouts = 0
            for chunk in chunks:
                for reading in protocol.feed(chunk):
                    print(json.dumps(reading.to_json_dict()), file=ctx.out)
                    timeouts += reading.error == "timeout"
                ctx.out.flush()
            # The input ended: a last frame without its terminator is shown, not lost.
            incomplete = 0
            for reading in protocol.finish():
                print(json.dumps(reading.to_json_dict()), file=ctx.out)
                timeouts += reading.error == "timeout"
                if reading.error == "incomplete":
                    incomplete += len(reading.raw)
            ctx.out.flush()
            if timeouts:
                noun = "frame" if timeouts == 1 else "frames"
                print(
                    f"counter scale decode: the pattern took too long on {timeouts} {noun}; "
                    "write it without nested repeats such as (a+)+",
                    file=ctx.err,
                )
            if incomplete:
                noun = "byte" if incomplete == 1 else "bytes"
                print(
                    f"counter scale decode: {incomplete} {noun} at the end did not complete "
                    "a frame",
                    file=ctx.err,
                )
    except CliProblem as problem:
        return say_problem(ctx, problem)
    return 0
