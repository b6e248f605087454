"""A virtual scale indicator on a pseudo-terminal.

The simulator opens a pty pair and speaks a protocol's emulator on the master side;
the slave side is an ordinary serial port that the real transport opens through
pyserial (optionally under a stable symbolic link such as ``/tmp/scale``). Tests,
the demo mode and technicians set its weight, motion, overload and faults, inject
garbage, and pull the cable (``unplug()`` closes the pty; the link then dangles).

Pseudo-terminals are POSIX: the POSIX modules are imported when a simulator starts,
so importing this module works everywhere.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from drivers.scale.protocol import IndicatorEmulator
from drivers.scale.reading import IndicatorState

#: The line speed the simulator sets on its pty whenever a program has set another.
#: Linux keeps a pty at 8 data bits without parity whatever is asked, and glibc then
#: fails tcsetattr() with EINVAL when 7 bits or parity were asked for and nothing at
#: all changed. A first 7E1 open (toledo, nci) changes the speed and the modes, so it
#: works; the next open with the same settings would change nothing and fail. With
#: the speed put back to one no indicator uses, every open changes it again. A pty
#: ignores its speed, so the program that has the port open notices nothing.
IDLE_LINE_SPEED = "B50"


class SimulatorUnavailableError(RuntimeError):
    """The simulator cannot run here (no pseudo-terminals on this system)."""


def as_weight(value: Decimal | int | str) -> Decimal:
    """A weight for the simulator as an exact ``Decimal``; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"a weight must be a Decimal, int or str, not {type(value).__name__}")
    try:
        weight = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"not a weight: {value!r}") from None
    if not weight.is_finite():
        raise ValueError(f"not a weight: {value!r}")
    return weight


class ScaleSimulator:
    """A virtual indicator speaking ``protocol`` on a pty.

    ``protocol``: a protocol name from the registry, or an emulator instance.
    ``options``: emulator options (with a name). ``link``: a path for a symbolic
    link to the slave side (a stale link there is replaced). ``rate_hz``: frames a
    second for streaming emulators. ``state``: the starting display state.
    """

    def __init__(
        self,
        protocol: str | IndicatorEmulator = "comma",
        options: Mapping[str, str] | None = None,
        link: Path | str | None = None,
        rate_hz: float = 10.0,
        state: IndicatorState | None = None,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        if isinstance(protocol, IndicatorEmulator):
            self.emulator = protocol
        else:
            from drivers.scale.registry import make_emulator

            self.emulator = make_emulator(protocol, options)
        self.link = None if link is None else Path(link)
        self.rate_hz = rate_hz
        self._state = state if state is not None else IndicatorState()
        self._lock = threading.RLock()  # guards the state and the emulator
        self._wobble = 0
        self._io_lock = threading.Lock()  # guards the pty file descriptors
        self._life_lock = threading.Lock()  # one start/stop/unplug/replug at a time
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path: str | None = None
        # Each plugged line has its own thread, told to stop by its own event: a thread
        # that outlives its unplug (join gives up after 2 s) cannot come back to life
        # on the next line. It waits in select() for a request or its next frame; a
        # byte on its wake pipe ends the wait at once rather than up to 50 ms later.
        # The thread closes its pipe when it ends, under the lock, so that unplug never
        # writes to a pipe that is closed, or whose number another file has taken.
        self._stop = threading.Event()
        self._wake: tuple[int, int] | None = None
        self._wake_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = False
        #: How long unplug and stop wait for the line's thread before they go on without
        #: it (it ends by itself as soon as it can).
        self.stop_timeout = 2.0
        #: Frames written (streaming) and request bytes received, for tests and tools.
        self.frames_sent = 0
        self.bytes_received = 0

    # -- life cycle -----------------------------------------------------------

    def start(self) -> None:
        """Open the pty, make the link and start speaking."""
        with self._life_lock:
            if self._started:
                raise RuntimeError("the scale simulator was already started")
            self._plug()
            self._started = True

    def stop(self) -> None:
        """Stop speaking, close the pty and remove the link."""
        with self._life_lock:
            self._unplug()
            self._started = False
            if self.link is not None and self.link.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    self.link.unlink()

    def unplug(self) -> None:
        """Pull the cable: close both sides of the pty; the link dangles."""
        with self._life_lock:
            self._unplug()

    def replug(self) -> None:
        """Plug a cable in again: a new pty, the link pointed at it."""
        with self._life_lock:
            if not self._started:
                raise RuntimeError("the scale simulator is not started")
            if self._master is None:
                self._plug()

    def __enter__(self) -> ScaleSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def port(self) -> str:
        """The port to open: the link if one was given, else the pty slave path."""
        if self.link is not None:
            return str(self.link)
        if self._slave_path is None:
            raise RuntimeError("the scale simulator is not plugged in")
        return self._slave_path

    @property
    def slave_path(self) -> str | None:
        """The current pty slave device (``/dev/pts/N``), or ``None`` when unplugged."""
        return self._slave_path

    # -- the indicator's state ---------------------------------------------------

    def snapshot(self) -> IndicatorState:
        """A copy of the current state."""
        with self._lock:
            return replace(self._state, extra=dict(self._state.extra))

    def set_weight(self, weight: Decimal | int | str) -> None:
        """Set the gross weight on the platform, in the state's unit."""
        value = as_weight(weight)
        with self._lock:
            self._state.weight = value

    def set_tare(self, tare: Decimal | int | str) -> None:
        """Set the tare (0 clears it; a tare makes the indicator show net)."""
        value = as_weight(tare)
        with self._lock:
            self._state.tare = value

    def set_motion(self, motion: bool) -> None:
        with self._lock:
            self._state.motion = bool(motion)

    def set_overload(self, overload: bool) -> None:
        with self._lock:
            self._state.overload = bool(overload)

    def set_underload(self, underload: bool) -> None:
        with self._lock:
            self._state.underload = bool(underload)

    def set_unit(self, unit: str, decimals: int | None = None) -> None:
        with self._lock:
            self._state.unit = unit
            if decimals is not None:
                self._state.decimals = decimals

    def inject(self, data: bytes) -> bool:
        """Write raw bytes (garbage, a broken frame) onto the line now.

        Returns False when unplugged (nothing to write to).
        """
        return self._write(bytes(data))

    # -- the pty ----------------------------------------------------------------

    def _plug(self) -> None:
        if os.name != "posix":
            raise SimulatorUnavailableError(
                "the scale simulator needs a POSIX system (Linux or macOS): "
                "it runs on a pseudo-terminal"
            )
        import tty

        master, slave = os.openpty()
        try:
            # Raw mode: no echo of what the master writes back to the master, no
            # CR/LF translation. pyserial sets its own modes when it opens the port.
            tty.setraw(slave)
            os.set_blocking(master, False)
            slave_path = os.ttyname(slave)
            if self.link is not None:
                self._point_link(slave_path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        with self._io_lock:
            self._master, self._slave, self._slave_path = master, slave, slave_path
        stop = threading.Event()
        wake = os.pipe()
        with self._wake_lock:
            self._stop, self._wake = stop, wake
        self._thread = threading.Thread(
            target=self._run, args=(master, wake, stop), name="scale-simulator", daemon=True
        )
        self._thread.start()

    def _point_link(self, target: str) -> None:
        assert self.link is not None
        link = self.link
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a symbolic link; not replacing it")
        # Make the new link beside it and rename it over the old one, so that the
        # path never points nowhere while a transport retries.
        temporary = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        os.symlink(target, temporary)
        os.replace(temporary, link)

    def _unplug(self) -> None:
        self._stop.set()
        with self._wake_lock:
            if self._wake is not None:
                with contextlib.suppress(OSError):
                    os.write(self._wake[1], b"\0")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.stop_timeout)
        self._thread = None
        with self._io_lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = self._slave_path = None
        if self.link is not None and self.link.is_symlink():
            # The link dangles, as a cable's device node goes away; but not at the closed
            # pty's number: the system gives that number to the next pty opened, and a
            # reconnecting transport would take somebody else's line for the scale.
            self._point_link(str(self.link.with_name(f"{self.link.name}.unplugged")))

    def _write(self, data: bytes) -> bool:
        with self._io_lock:
            if self._master is None:
                return False
            self._reset_line_speed()
            try:
                os.write(self._master, data)
            except BlockingIOError:
                # Nobody reads the line and its buffer is full: like a real indicator,
                # the bytes are simply lost.
                return False
            except OSError:
                return False
        return True

    def _read(self) -> bytes:
        with self._io_lock:
            if self._master is None:
                return b""
            try:
                return os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                return b""

    def _reset_line_speed(self) -> None:
        """Put the pty back at :data:`IDLE_LINE_SPEED` when a program has set another,
        so that the next program's 7E1 line settings change something (see there).

        Called with the pty lock held, before every write: a program that has read
        a byte from the simulator has had its line settings undone by then, however
        soon it closes the port and opens it again."""
        import termios

        idle: int = getattr(termios, IDLE_LINE_SPEED)
        if self._slave is None:
            return
        try:
            attributes = termios.tcgetattr(self._slave)
            if attributes[4] == attributes[5] == idle:
                return
            attributes[4] = attributes[5] = idle
            termios.tcsetattr(self._slave, termios.TCSANOW, attributes)
        except termios.error:
            return  # closed under us; the next plug starts afresh

    def _wobbled(self, state: IndicatorState) -> IndicatorState:
        """The state as sent: a load in motion wobbles by a few divisions when the
        format has no motion flag, so software stability sees the motion too."""
        if not state.motion or self.emulator.has_motion_flag:
            return state
        self._wobble = (self._wobble + 1) % 4
        step = Decimal(1).scaleb(-state.decimals) * (3, -2, 2, -3)[self._wobble]
        return replace(state, weight=state.weight + step)

    def _run(self, master: int, wake: tuple[int, int], stop: threading.Event) -> None:
        try:
            self._speak(master, wake[0], stop)
        finally:
            with self._wake_lock:
                for end in wake:
                    with contextlib.suppress(OSError):
                        os.close(end)
                if self._wake is wake:
                    self._wake = None

    def _speak(self, master: int, wake: int, stop: threading.Event) -> None:
        import select

        continuous = self.emulator.continuous
        period = 1.0 / self.rate_hz
        next_frame = time.monotonic()
        while not stop.is_set():
            with self._io_lock:
                self._reset_line_speed()
            wait = max(0.0, next_frame - time.monotonic()) if continuous else 0.05
            try:
                ready, _, _ = select.select([master, wake], [], [], min(wait, 0.05))
            except (OSError, ValueError):
                return  # the pty was closed under us
            if wake in ready or stop.is_set():
                return  # told to stop
            if master in ready:
                request = self._read()
                if request:
                    self.bytes_received += len(request)
                    with self._lock:
                        reply = self.emulator.receive(request, self._state)
                    if reply:
                        self._write(reply)
            if continuous and time.monotonic() >= next_frame:
                with self._lock:
                    frame = self.emulator.frame(self._wobbled(self._state))
                if self._write(frame):
                    self.frames_sent += 1
                next_frame += period
                if next_frame < time.monotonic() - period:
                    next_frame = time.monotonic() + period  # fell behind: do not burst


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One step of the demo: what the platform shows, for how long."""

    weight: Decimal
    motion: bool
    seconds: float


class DemoScenario:
    """Drives a simulator like a busy counter: items on, stable, off, again.

    Each cycle: the empty platform at 0; an item put on (about a second of motion
    with values swinging around its weight); the item stable at a plausible weight
    (0.40 to 45.00 kg, two decimals) for about ``stable_seconds``; the item taken
    off (a moment of motion). ``seed`` makes the sequence reproducible; ``speed``
    divides every duration (tests run the demo fast).
    """

    def __init__(
        self,
        simulator: ScaleSimulator,
        *,
        seed: int | None = None,
        speed: float = 1.0,
        empty_seconds: float = 3.0,
        settle_seconds: float = 1.0,
        stable_seconds: float = 8.0,
        tick_seconds: float = 0.2,
        min_weight: Decimal = Decimal("0.40"),
        max_weight: Decimal = Decimal("45.00"),
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.simulator = simulator
        self.seed = seed
        self.speed = speed
        self.empty_seconds = empty_seconds
        self.settle_seconds = settle_seconds
        self.stable_seconds = stable_seconds
        self.tick_seconds = tick_seconds
        # Weights are drawn as whole hundredths, so no float is ever involved.
        self._min_hundredths = int(min_weight * 100)
        self._max_hundredths = int(max_weight * 100)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def steps(self) -> Iterator[DemoStep]:
        """The endless, reproducible sequence of steps (for a given seed)."""
        rng = random.Random(self.seed)
        tick = self.tick_seconds
        settle_ticks = max(1, round(self.settle_seconds / tick))
        hundredth = Decimal("0.01")
        while True:
            yield DemoStep(Decimal("0.00"), False, self.empty_seconds)
            item = rng.randint(self._min_hundredths, self._max_hundredths)
            for i in range(settle_ticks):
                # The swing shrinks as the item comes to rest: 25 % at first.
                amplitude = item * 25 * (settle_ticks - i) // (100 * settle_ticks)
                value = max(0, item + rng.randint(-amplitude, amplitude))
                yield DemoStep(Decimal(value) * hundredth, True, tick)
            yield DemoStep(Decimal(item) * hundredth, False, self.stable_seconds)
            for share in (rng.randint(50, 80), rng.randint(5, 30)):
                yield DemoStep(Decimal(item * share // 100) * hundredth, True, tick)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the demo scenario was already started")
        self._thread = threading.Thread(target=self._run, name="scale-demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        for step in self.steps():
            self.simulator.set_weight(step.weight)
            self.simulator.set_motion(step.motion)
            if self._stop.wait(step.seconds / self.speed):
                return


__all__ = [
    "DemoScenario",
    "DemoStep",
    "ScaleSimulator",
    "SimulatorUnavailableError",
    "as_weight",
]
