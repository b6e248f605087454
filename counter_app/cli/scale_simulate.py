"""``counter scale simulate``: a virtual indicator on a pseudo-terminal, driven from
standard input."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from counter_app.cli.context import CliContext
from counter_app.cli.scale_protocols import (
    CliProblem,
    build_emulator,
    parse_options,
    say_problem,
)
from drivers.scale.reading import IndicatorState

SIMULATOR_HELP = """\
commands:
  w KG        set the weight (e.g. w 12.5)
  m on|off    motion
  o on|off    overload
  u on|off    underload
  t KG        set the tare (t 0 clears it)
  g           inject a burst of garbage bytes
  d           drop-out: pull the cable, plug it back in after 2 s
  q           quit
  help        this list"""

# Bytes a line with a wrong baud rate or a loose connector produces.
GARBAGE = b"\x00\xff\x1b\x83ST,G\xfe\x9a\r\n\x15\xe1+00\xa712\r\n"


def _switch(word: str) -> bool:
    if word in ("on", "1", "yes", "true"):
        return True
    if word in ("off", "0", "no", "false"):
        return False
    raise CliProblem(f"expected on or off, got {word!r}")


class SimulatorConsole:
    """The command loop of ``counter scale simulate`` (one line, one command)."""

    def __init__(self, simulator: Any, out: IO[str], replug_after: float = 2.0) -> None:
        self.simulator = simulator
        self.out = out
        self.replug_after = replug_after
        self._replug: threading.Timer | None = None

    def handle(self, line: str) -> bool:
        """Carry out one command; False when the user asked to quit."""
        from drivers.scale.simulator import as_weight

        words = line.split()
        if not words:
            return True
        command, rest = words[0].lower(), words[1:]
        sim = self.simulator
        if command in ("q", "quit", "exit"):
            return False
        if command in ("help", "h", "?"):
            print(SIMULATOR_HELP, file=self.out)
        elif command in ("w", "t"):
            if len(rest) != 1:
                raise CliProblem(f"usage: {command} KG")
            try:
                value = as_weight(rest[0].replace(",", "."))
            except ValueError as exc:
                raise CliProblem(str(exc)) from None
            if command == "w":
                sim.set_weight(value)
            else:
                sim.set_tare(value)
        elif command in ("m", "o", "u"):
            if len(rest) != 1:
                raise CliProblem(f"usage: {command} on|off")
            setter = {"m": sim.set_motion, "o": sim.set_overload, "u": sim.set_underload}
            setter[command](_switch(rest[0].lower()))
        elif command == "g":
            sim.inject(GARBAGE)
        elif command == "d":
            self.cancel()
            sim.unplug()
            self._replug = threading.Timer(self.replug_after, self._plug_back)
            self._replug.daemon = True
            self._replug.start()
            print(f"unplugged; plugging back in after {self.replug_after:g} s", file=self.out)
            return True
        else:
            raise CliProblem(f"unknown command {command!r}; type 'help'")
        print(self.describe(), file=self.out)
        return True

    def describe(self) -> str:
        state: IndicatorState = self.simulator.snapshot()
        flags = ["motion" if state.motion else "stable"]
        if state.overload:
            flags.append("overload")
        if state.underload:
            flags.append("underload")
        if state.net:
            flags.append(f"tare {state.tare} {state.unit}")
        return f"weight {state.weight} {state.unit}, shows {state.displayed}; " + ", ".join(flags)

    def _plug_back(self) -> None:
        try:
            self.simulator.replug()
        except RuntimeError:
            return  # stopped meanwhile
        print("plugged back in", file=self.out, flush=True)

    def cancel(self) -> None:
        if self._replug is not None:
            self._replug.cancel()
            self._replug = None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from drivers.scale.simulator import ScaleSimulator, SimulatorUnavailableError, as_weight

    try:
        emulator = build_emulator(args.protocol, parse_options(args.option))
        try:
            weight = as_weight(str(args.weight).replace(",", "."))
        except ValueError as exc:
            raise CliProblem(f"--weight: {exc}") from None
        if args.rate <= 0:
            raise CliProblem("--rate must be positive")
        simulator = ScaleSimulator(
            emulator, link=args.link, rate_hz=args.rate, state=IndicatorState(weight=weight)
        )
        try:
            simulator.start()
        except (SimulatorUnavailableError, OSError) as exc:
            raise CliProblem(f"cannot start the simulator: {exc}") from None
    except CliProblem as problem:
        return say_problem(ctx, problem)

    console = SimulatorConsole(simulator, ctx.out)
    print(simulator.port, file=ctx.out, flush=True)
    print("simulating; type 'help' for commands", file=ctx.err, flush=True)
    try:
        with _sigterm_as_interrupt():
            for line in sys.stdin:
                try:
                    if not console.handle(line):
                        break
                except CliProblem as problem:
                    print(problem, file=ctx.err)
                ctx.out.flush()
            else:
                if not sys.stdin.isatty():
                    # Started with no terminal (a service, `&`): keep going.
                    print("input closed; simulating until interrupted", file=ctx.err, flush=True)
                    while True:
                        time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        console.cancel()
        simulator.stop()
    return 0


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM end the command like Ctrl-C, so that the link is cleaned up."""
    import signal

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
