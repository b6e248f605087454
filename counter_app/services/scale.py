"""The scale service: one live view of the indicator for the whole counter.

It owns the transport (and, in demo mode, the simulator), turns the stream of
readings into a :class:`ScaleSnapshot` (latest reading plus a state an attendant
understands), and decides whether a capture is allowed. It reports changes through
a callback, from its own threads; the UI turns that into a replaceable message.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from drivers.scale.link import LinkCause
from drivers.scale.reading import Reading
from drivers.scale.registry import emulator_class, make_protocol, protocol_class
from drivers.scale.signal import UNREADABLE_ERRORS, SignalJudge, SignalState

if TYPE_CHECKING:
    from counter_app.config import ScaleConfig
    from drivers.scale.simulator import DemoScenario, ScaleSimulator
    from drivers.scale.stability import SoftwareStability
    from drivers.scale.transport import RawChunk, ScaleTransport, TransportLink


class ScaleState(enum.Enum):
    CONNECTING = "connecting"
    STABLE = "stable"
    MOTION = "motion"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"
    NO_SIGNAL = "no_signal"
    #: The indicator answers, but with no weight (busy, counting mode, an error reply)
    #: or its last weight is too old to stand for what is on the scale now.
    NO_WEIGHT = "no_weight"
    OFFLINE = "offline"


class CaptureRefusal(enum.Enum):
    """Why a weight cannot be captured now; each has a sentence in the catalogue."""

    MOTION = "motion"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"
    NEGATIVE = "negative"
    ZERO = "zero"
    OFFLINE = "offline"
    NO_SIGNAL = "no_signal"
    NO_WEIGHT = "no_weight"
    UNIT = "unit"
    #: The load just recorded is still on the scale, unchanged.
    SAME_LOAD = "same_load"


@dataclass(frozen=True, slots=True)
class ScaleSnapshot:
    state: ScaleState
    reading: Reading | None
    detail: str = ""  # the driver's reason in English, for the log and the technician
    port: str = ""
    cause: LinkCause | None = None  # the same reason as a code, for the attendant's words

    @property
    def grams(self) -> int | None:
        return None if self.reading is None else self.reading.grams


@dataclass(frozen=True, slots=True)
class Capture:
    """The outcome of asking for a weight: a stable reading, or why not."""

    reading: Reading | None
    refusal: CaptureRefusal | None

    @property
    def ok(self) -> bool:
        return self.reading is not None


def _now_ms() -> int:
    return int(time.monotonic() * 1000)


class ScaleService:
    def __init__(
        self,
        config: ScaleConfig,
        on_change: Callable[[ScaleSnapshot], None] | None = None,
        *,
        demo_seed: int | None = None,
        demo_scenario: bool = True,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self._config = config
        # Monotonic milliseconds. Stability windows, silence and the age of a weight
        # are all measured on it; a test passes its own to step time instead of waiting.
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._latest: Reading | None = None
        # When the latest weight arrived, and when the indicator last answered
        # without one: a weight older than either is not what is on the scale now.
        self._latest_ms = 0
        self._no_weight_ms = 0
        # After a record, the next capture waits until the load changed: the scale
        # went back to (near) zero, moved, or settled at another weight. Otherwise
        # one item left on the scale could be recorded twice.
        self._recorded_grams: int | None = None
        # The drop-off the held load was recorded as (a correction may weigh it again).
        self._recorded_by: str | None = None
        # Silent, unreadable or fine: the same judgement the monitor uses.
        self._signal = SignalJudge(silent_after_ms=config.offline_after_ms)
        self._link_since_ms: int | None = None
        self._link_up = False
        self._link_state = "connecting"
        self._link_detail = ""
        self._link_cause: LinkCause | None = None
        self._state = ScaleState.CONNECTING
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._simulator: ScaleSimulator | None = None
        self._scenario: DemoScenario | None = None
        self._demo_seed = demo_seed
        self._demo_scenario = demo_scenario
        self._protocol_name = config.protocol
        self._stability = self._make_stability()
        self._transport: ScaleTransport | None = None
        self.port = config.port

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        from drivers.scale.simulator import SimulatorUnavailableError
        from drivers.scale.transport import ScaleTransport

        port = self._config.port
        if port == "sim":
            try:
                port = self._start_simulator()
            except SimulatorUnavailableError as exc:
                # On Windows there are no pseudo-terminals: the counter still runs,
                # the scale shows offline and says why.
                with self._lock:
                    self._link_detail = str(exc)
                    self._link_cause = LinkCause.NO_SIMULATOR
                self._publish()
                return
        self.port = port
        line = self._config.over(protocol_class(self._protocol_name).serial_defaults)
        transport = ScaleTransport(
            port,
            protocol=make_protocol(
                self._protocol_name, self._config.options, capacity_kg=self._config.capacity_kg
            ),
            baudrate=line.baudrate,
            bytesize=line.bytesize,
            parity=line.parity,
            stopbits=line.stopbits,
            poll_interval=self._config.poll_interval_ms / 1000,
            on_reading=self._observe_reading,
            on_link=self._on_link,
            raw_listener=self._dispatch_raw,
        )
        self._transport = transport
        transport.start()
        self._watchdog = threading.Thread(target=self._watch, name="scale-watchdog", daemon=True)
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        if self._transport is not None:
            self._transport.stop()
        if self._scenario is not None:
            self._scenario.stop()
        if self._simulator is not None:
            self._simulator.stop()

    @property
    def simulator(self) -> ScaleSimulator | None:
        """The built-in simulator in demo mode (tests and the technician use it)."""
        return self._simulator

    def _start_simulator(self) -> str:
        from drivers.scale.simulator import DemoScenario, ScaleSimulator

        # The simulated indicator speaks the configured protocol, in the variant the
        # options choose (e.g. xk3190 format=scoreboard) where the emulator has it.
        emulator_options = emulator_class(self._protocol_name).options_help
        options = {k: v for k, v in self._config.options.items() if k in emulator_options}
        simulator = ScaleSimulator(protocol=self._protocol_name, options=options)
        simulator.start()
        self._simulator = simulator
        if self._demo_scenario:
            scenario = DemoScenario(simulator, seed=self._demo_seed)
            scenario.start()
            self._scenario = scenario
        return str(simulator.port)

    # -- what the transport tells us ----------------------------------------------------

    def _make_stability(self) -> SoftwareStability:
        from drivers.scale.stability import SoftwareStability

        return SoftwareStability(
            division=Decimal(self._config.stable_division),
            count=self._config.stable_count,
            window_ms=self._config.stable_window_ms,
        )

    def _on_reading(self, reading: Reading) -> None:
        now = self._clock()
        indicator_says_motion = reading.stable is False  # the indicator's own flag
        unreadable = reading.kind == "error" and reading.error in UNREADABLE_ERRORS
        if not unreadable:
            # A garbled frame says nothing about the load: it neither adds to the
            # stable run nor ends it. Status readings (overload, an error reply) do.
            reading = self._stability.apply(reading, now)
        with self._lock:
            self._signal.reading_arrived(reading, now)
            if reading.kind == "weight" or reading.overload or reading.underload:
                self._latest = reading
                self._latest_ms = now
                if self._recorded_grams is not None and self._load_changed(
                    reading, indicator_says_motion
                ):
                    self._recorded_grams = None
                    self._recorded_by = None
            elif not unreadable:
                # A readable answer without a weight ("command not executable", a
                # piece count, an error reply): the last weight no longer stands.
                self._no_weight_ms = now
        self._publish()

    def _on_link(self, link: TransportLink) -> None:
        with self._lock:
            self._link_up = link.state == "connected"
            self._link_state = link.state
            # A weight from before a reconnect says nothing about the scale now.
            self._stability.reset()
            self._link_detail = link.message or ""
            self._link_cause = link.cause
            self._signal.reset()
            self._link_since_ms = self._clock() if self._link_up else None
            self._latest = None
        self._publish()

    def _watch(self) -> None:
        # Silence is an offline scale too: a pulled RS-232 cable gives no error on
        # the PC side, the frames simply stop.
        while not self._stop.wait(0.2):
            self._publish(only_if_changed=True)

    # -- state -----------------------------------------------------------------------

    def _evaluate(self) -> ScaleSnapshot:
        with self._lock:
            latest = self._latest
            if not self._link_up:
                connecting = self._link_state == "connecting" and self._transport is not None
                state = ScaleState.CONNECTING if connecting else ScaleState.OFFLINE
                if not self._link_detail and self._transport is None:
                    state = ScaleState.CONNECTING  # not started yet
                return ScaleSnapshot(state, None, self._link_detail, self.port, self._link_cause)
            now = self._clock()
            signal = self._signal.state(now)
            if (
                signal is SignalState.WAITING
                and self._link_since_ms is not None
                and now - self._link_since_ms > self._config.offline_after_ms
            ):
                # Connected, yet nothing at all arrives: as silent as a pulled cable.
                signal = SignalState.SILENT
            if signal is SignalState.SILENT:
                return ScaleSnapshot(ScaleState.OFFLINE, None, "silent", self.port)
            if signal is SignalState.UNREADABLE:
                return ScaleSnapshot(ScaleState.NO_SIGNAL, None, "", self.port)
            if latest is None:
                if self._no_weight_ms:
                    return ScaleSnapshot(ScaleState.NO_WEIGHT, None, "", self.port)
                return ScaleSnapshot(ScaleState.CONNECTING, None, "", self.port)
            if (
                self._no_weight_ms > self._latest_ms
                or now - self._latest_ms > self._config.offline_after_ms
            ):
                return ScaleSnapshot(ScaleState.NO_WEIGHT, None, "", self.port)
        if latest.overload:
            state = ScaleState.OVERLOAD
        elif latest.underload:
            state = ScaleState.UNDERLOAD
        elif latest.stable:
            state = ScaleState.STABLE
        else:
            state = ScaleState.MOTION
        return ScaleSnapshot(state, latest, "", self.port)

    def _publish(self, *, only_if_changed: bool = False) -> None:
        # One at a time from evaluation to hand-over: otherwise the watchdog could
        # hand over a snapshot it evaluated before a newer one from the transport
        # (OFFLINE), and the screen would show the old state until the next tick.
        with self._publish_lock:
            snapshot = self._evaluate()
            changed = snapshot.state != self._state
            self._state = snapshot.state
            if only_if_changed and not changed:
                return
            if self._on_change is not None:
                self._on_change(snapshot)

    def snapshot(self) -> ScaleSnapshot:
        return self._evaluate()

    def now_ms(self) -> int:
        """The service's clock (monotonic milliseconds; a test's own when it gave one):
        what waits on the scale (a capture waiting to settle) is timed on it."""
        return self._clock()

    def capture(self, *, recorded_load_of: str | None = None) -> Capture:
        """A weight to record: only a stable, positive reading in a known unit.

        ``recorded_load_of``: a correction weighs again the load of the drop-off with
        this id, which may still lie on the scale since it was recorded; that record is
        voided in the same transaction, so one load stays one record. The load of any
        other record stays held: correcting A must not take B's load.
        """
        snap = self._evaluate()
        refusal = {
            ScaleState.CONNECTING: CaptureRefusal.OFFLINE,
            ScaleState.OFFLINE: CaptureRefusal.OFFLINE,
            ScaleState.NO_SIGNAL: CaptureRefusal.NO_SIGNAL,
            ScaleState.NO_WEIGHT: CaptureRefusal.NO_WEIGHT,
            ScaleState.OVERLOAD: CaptureRefusal.OVERLOAD,
            ScaleState.UNDERLOAD: CaptureRefusal.UNDERLOAD,
            ScaleState.MOTION: CaptureRefusal.MOTION,
        }.get(snap.state)
        if refusal is not None:
            return Capture(None, refusal)
        reading = snap.reading
        assert reading is not None and reading.weight is not None
        grams = reading.grams
        if grams is None:
            return Capture(None, CaptureRefusal.UNIT)
        if grams < 0:
            return Capture(None, CaptureRefusal.NEGATIVE)
        if grams == 0:
            return Capture(None, CaptureRefusal.ZERO)
        with self._lock:
            held = self._recorded_grams is not None
            if held and (recorded_load_of is None or recorded_load_of != self._recorded_by):
                return Capture(None, CaptureRefusal.SAME_LOAD)
        return Capture(replace(reading), None)

    def mark_recorded(self, reading: Reading, drop_off_id: str | None = None) -> None:
        """The reading was recorded (as ``drop_off_id``): hold captures until the load
        changes."""
        with self._lock:
            self._recorded_grams = reading.grams
            self._recorded_by = drop_off_id

    def _load_changed(self, reading: Reading, indicator_says_motion: bool) -> bool:
        """Whether the load recorded last has gone: the only way to record again.

        The indicator's own motion flag, an overload or underload, a weight near zero
        (under half the recorded weight, and under one division), or a stable
        weight more than two divisions away. Software stability's "not yet stable" does
        not count: it also follows a reconnect, with the load untouched.
        """
        grams = reading.grams
        if indicator_says_motion or reading.overload or reading.underload:
            return True
        if grams is None:
            return False
        recorded = self._recorded_grams
        assert recorded is not None
        division = self._division_grams(reading)
        if grams < max(1, min(division, recorded // 2)):
            return True
        return reading.stable is True and abs(grams - recorded) > 2 * division

    def division_grams(self, reading: Reading) -> int:
        """One division of the scale in grams, for ``reading`` (see below)."""
        return self._division_grams(reading)

    def _division_grams(self, reading: Reading) -> int:
        """One division in grams: the indicator's last digit, or stable_division if
        that is coarser (a display showing 132.3 kg moves in steps of 0.1 kg)."""
        from drivers.scale.reading import to_grams

        unit = reading.unit or "kg"
        candidates = [Decimal(self._config.stable_division)]
        if reading.weight is not None:
            exponent = reading.weight.as_tuple().exponent
            if isinstance(exponent, int):
                candidates.append(Decimal(1).scaleb(exponent))
        try:
            return max(1, *(to_grams(c, unit) for c in candidates))
        except ValueError:
            return 1

    # -- technician commands --------------------------------------------------------------

    def zero(self) -> bool:
        return self._send_command("zero_request")

    def tare(self) -> bool:
        return self._send_command("tare_request")

    def _send_command(self, name: str) -> bool:
        """True only when the command went to an open port (the transport drops
        commands while the port is closed, so none fires late after a reconnect)."""
        request = self._command_bytes(name)
        if request is None or self._transport is None:
            return False
        return self._transport.send(request)

    # -- the technician's diagnostics -------------------------------------------------------
    # Listeners are kept in tuples that are replaced, never changed in place: the
    # transport thread reads them without a lock, the UI adds and removes them rarely.
    _raw_listeners: tuple[Callable[[RawChunk], None], ...] = ()
    _reading_listeners: tuple[Callable[[Reading], None], ...] = ()
    # Written by the transport thread only.
    _checksum_failures: int = 0

    def add_raw_listener(self, listener: Callable[[RawChunk], None]) -> None:
        """Call ``listener`` with every chunk of bytes received or sent (transport thread).

        It must be quick and must not block: it runs between two reads of the port.
        """
        with self._lock:
            self._raw_listeners = (*self._raw_listeners, listener)

    def remove_raw_listener(self, listener: Callable[[RawChunk], None]) -> None:
        with self._lock:
            self._raw_listeners = tuple(x for x in self._raw_listeners if x != listener)

    def add_reading_listener(self, listener: Callable[[Reading], None]) -> None:
        """Call ``listener`` with every reading exactly as the protocol decoded it.

        Error and status readings included, before software stability is applied;
        on the transport thread, so it must be quick.
        """
        with self._lock:
            self._reading_listeners = (*self._reading_listeners, listener)

    def remove_reading_listener(self, listener: Callable[[Reading], None]) -> None:
        with self._lock:
            self._reading_listeners = tuple(x for x in self._reading_listeners if x != listener)

    def counters(self) -> ScaleCounters:
        """What the line has carried since start; all zero before the transport runs."""
        transport = self._transport
        if transport is None:
            return ScaleCounters()
        return ScaleCounters(
            frames=transport.frames,
            errors=transport.errors,
            checksum_failures=self._checksum_failures,
            bytes_received=transport.bytes_received,
            missed=transport.missed,
            connections=transport.connections,
        )

    def line_settings(self) -> ScaleLineSettings:
        """The port and the line settings in effect: the configuration's, else the
        protocol's own defaults (as :meth:`start` opens the port)."""
        cls = protocol_class(self._protocol_name)
        transport = self._transport
        if transport is not None:
            baudrate, bytesize = transport.baudrate, transport.bytesize
            parity, stopbits = transport.parity, transport.stopbits
        else:
            line = self._config.over(cls.serial_defaults)
            baudrate, bytesize, parity, stopbits = (
                line.baudrate,
                line.bytesize,
                line.parity,
                line.stopbits,
            )
        return ScaleLineSettings(
            port=self.port,
            protocol=self._protocol_name,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            polled=cls.polled,
            simulated=self._config.port == "sim",
        )

    def transport_link(self) -> TransportLink | None:
        """The line's state and its reason in plain English; ``None`` before start."""
        transport = self._transport
        return None if transport is None else transport.link

    def supports_zero(self) -> bool:
        """True when the protocol has a zero command (:meth:`zero` can do something)."""
        return self._command_bytes("zero_request") is not None

    def supports_tare(self) -> bool:
        return self._command_bytes("tare_request") is not None

    def indicator_judges_zero_range(self) -> bool:
        """True when the indicator itself refuses a zero beyond its zero-setting range
        (and says so): then a zero may be sent with a load on the scale."""
        return protocol_class(self._protocol_name).judges_zero_range

    def _command_bytes(self, name: str) -> bytes | None:
        request: bytes | None = getattr(
            make_protocol(self._protocol_name, self._config.options), name
        )()
        return request

    def _observe_reading(self, reading: Reading) -> None:
        self._on_reading(reading)
        if reading.kind == "error" and reading.error == "checksum":
            self._checksum_failures += 1
        _notify(self._reading_listeners, reading)

    def _dispatch_raw(self, chunk: RawChunk) -> None:
        if chunk.direction == "rx":
            with self._lock:
                self._signal.bytes_arrived(self._clock())
        _notify(self._raw_listeners, chunk)


@dataclass(frozen=True, slots=True)
class ScaleCounters:
    """Counts since the scale service started (they survive reconnects)."""

    #: Readings decoded, error readings included.
    frames: int = 0
    #: Readings of kind "error": unreadable frames, checksum failures, error replies.
    errors: int = 0
    #: Of those, frames whose checksum did not match (Toledo with checksum).
    checksum_failures: int = 0
    bytes_received: int = 0
    #: Weight requests of a polled protocol that got no reply in time.
    missed: int = 0
    #: How often the port was opened.
    connections: int = 0


@dataclass(frozen=True, slots=True)
class ScaleLineSettings:
    """The port and the serial settings in effect."""

    port: str
    protocol: str
    baudrate: int
    bytesize: int
    parity: str
    stopbits: float
    #: True when the indicator answers requests only (it is polled).
    polled: bool
    #: True for the built-in simulator (demo mode).
    simulated: bool

    @property
    def framing(self) -> str:
        """``8N1``: data bits, parity, stop bits, as a technician writes them."""
        stopbits = self.stopbits
        stop = str(int(stopbits)) if float(stopbits).is_integer() else f"{stopbits:g}"
        return f"{self.bytesize}{self.parity}{stop}"


def _notify(listeners: tuple[Callable[..., None], ...], value: object) -> None:
    for listener in listeners:
        try:
            listener(value)
        except Exception:  # one faulty listener must not starve the others or the UI
            logging.getLogger(__name__).exception("scale listener %r failed", listener)
