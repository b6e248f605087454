"""The simulator is a real virtual indicator: checked through pyserial on its pty."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest
import serial

from drivers.scale.comma import CommaEmulator, CommaProtocol
from drivers.scale.reading import IndicatorState, Reading
from drivers.scale.simulator import DemoScenario, DemoStep, ScaleSimulator, as_weight

from .conftest import AskedEmulator, WaitUntil, needs_pty

ROOT = Path(__file__).resolve().parents[2]


class LineReader:
    """Reads the simulator's port with pyserial and decodes the comma frames."""

    def __init__(self, port: str) -> None:
        self.serial = serial.Serial(port, 9600, timeout=0.05)
        self.protocol = CommaProtocol()

    def next_reading(self, predicate: object = None, timeout: float = 10.0) -> Reading:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for reading in self.protocol.feed(self.serial.read(256)):
                if predicate is None or predicate(reading):  # type: ignore[operator]
                    return reading
        raise AssertionError("no matching reading from the simulator")

    def close(self) -> None:
        self.serial.close()


@pytest.fixture
def line(simulator: ScaleSimulator) -> Iterator[LineReader]:
    reader = LineReader(simulator.port)
    yield reader
    reader.close()


@needs_pty
class TestStreaming:
    def test_speaks_the_weight_it_was_given(
        self, simulator: ScaleSimulator, line: LineReader
    ) -> None:
        simulator.set_weight(Decimal("12.34"))
        reading = line.next_reading(lambda r: r.weight == Decimal("12.34"))
        assert reading.raw == b"ST,GS,+0012.34kg"
        assert reading.stable is True

    def test_motion_overload_underload_and_tare(
        self, simulator: ScaleSimulator, line: LineReader
    ) -> None:
        simulator.set_weight("20.00")
        simulator.set_motion(True)
        assert line.next_reading(lambda r: r.stable is False).weight == Decimal("20.00")
        simulator.set_motion(False)
        simulator.set_tare(Decimal("1.50"))
        reading = line.next_reading(lambda r: r.net is True)
        assert (reading.weight, reading.stable) == (Decimal("18.50"), True)
        simulator.set_overload(True)
        assert line.next_reading(lambda r: r.overload).kind == "status"
        simulator.set_overload(False)
        simulator.set_underload(True)
        assert line.next_reading(lambda r: r.underload).weight is None

    def test_injected_garbage_arrives_as_is(
        self, simulator: ScaleSimulator, line: LineReader
    ) -> None:
        line.next_reading()
        simulator.inject(b"\r\n\xff\x00junk\r\n")
        reading = line.next_reading(lambda r: r.kind == "error")
        assert reading.raw == b"\xff\x00junk"

    def test_streams_at_its_rate(self, simulator: ScaleSimulator, wait_until: WaitUntil) -> None:
        start = simulator.frames_sent
        wait_until(lambda: simulator.frames_sent >= start + 5, message="five frames")

    def test_snapshot_is_a_copy(self, simulator: ScaleSimulator) -> None:
        snapshot = simulator.snapshot()
        snapshot.weight = Decimal("99")
        assert simulator.snapshot().weight == Decimal("0.00")

    def test_weights_are_never_floats(self, simulator: ScaleSimulator) -> None:
        with pytest.raises(TypeError):
            simulator.set_weight(1.5)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            simulator.set_weight("heavy")
        assert as_weight(" 2.50 ") == Decimal("2.50")
        assert str(as_weight(3)) == "3"


@needs_pty
class TestCable:
    def test_link_points_at_the_pty(self, simulator: ScaleSimulator, scale_link: Path) -> None:
        assert simulator.port == str(scale_link)
        assert scale_link.is_symlink()
        assert os.path.realpath(scale_link) == simulator.slave_path

    def test_unplug_leaves_a_dangling_link_and_breaks_an_open_port(
        self, simulator: ScaleSimulator, scale_link: Path, line: LineReader
    ) -> None:
        line.next_reading()
        simulator.unplug()
        assert not simulator.plugged
        assert scale_link.is_symlink() and not scale_link.exists()
        with pytest.raises(serial.SerialException):
            for _ in range(100):
                line.serial.read(64)
        with pytest.raises(serial.SerialException):
            serial.Serial(str(scale_link))
        assert simulator.inject(b"nobody hears this") is False

    def test_an_unplugged_link_never_leads_to_the_next_pty_opened(
        self, simulator: ScaleSimulator, scale_link: Path
    ) -> None:
        simulator.unplug()
        # The system hands the closed pty's number to the next pty opened; a transport
        # reconnecting through the link must not end up on that stranger's line.
        master, slave = os.openpty()
        try:
            assert os.path.realpath(scale_link) != os.ttyname(slave)
            with pytest.raises(serial.SerialException):
                serial.Serial(str(scale_link))
        finally:
            os.close(master)
            os.close(slave)

    def test_replug_repoints_the_link(self, simulator: ScaleSimulator, scale_link: Path) -> None:
        simulator.set_weight("7.00")
        simulator.unplug()
        simulator.replug()
        assert os.path.realpath(scale_link) == simulator.slave_path
        reader = LineReader(str(scale_link))
        try:
            assert reader.next_reading().weight == Decimal("7.00")
        finally:
            reader.close()

    def test_a_thread_that_outlives_its_unplug_ends_and_closes_its_pipe(
        self, scale_link: Path
    ) -> None:
        """A line's thread held up past the unplug's wait (here: inside its frame) does
        not come back to life on the next line: one thread speaks, and the old one
        closes its wake pipe when it ends."""
        import threading

        class HeldEmulator(CommaEmulator):
            def __init__(self) -> None:
                super().__init__()
                self.hold = False
                self.held = threading.Event()
                self.release = threading.Event()

            def frame(self, state: IndicatorState) -> bytes:
                if self.hold:
                    self.held.set()
                    self.release.wait(10)
                return super().frame(state)

        def speaking() -> list[threading.Thread]:
            return [t for t in threading.enumerate() if t.name == "scale-simulator"]

        emulator = HeldEmulator()
        simulator = ScaleSimulator(emulator, link=scale_link, rate_hz=50)
        simulator.stop_timeout = 0.2
        simulator.start()
        try:
            old_thread = speaking()[0]
            old_wake = simulator._wake
            assert old_wake is not None
            emulator.hold = True
            assert emulator.held.wait(10)
            simulator.unplug()
            assert old_thread.is_alive()  # the unplug gave up waiting for it
            emulator.hold = False
            simulator.replug()
            emulator.release.set()
            old_thread.join(5.0)
            assert not old_thread.is_alive()
            assert speaking() == [simulator._thread]
            for end in old_wake:
                with pytest.raises(OSError):
                    os.fstat(end)  # closed (and nothing has been opened since)
            simulator.set_weight("3.30")
            reader = LineReader(str(scale_link))
            try:
                assert reader.next_reading().weight == Decimal("3.30")
            finally:
                reader.close()
        finally:
            emulator.release.set()
            simulator.stop()

    def test_stale_link_is_replaced_and_removed_on_stop(self, scale_link: Path) -> None:
        scale_link.symlink_to("/dev/pts/does-not-exist")
        with ScaleSimulator("comma", link=scale_link) as sim:
            assert os.path.realpath(scale_link) == sim.slave_path
        assert not scale_link.is_symlink()

    def test_refuses_to_replace_a_real_file(self, scale_link: Path) -> None:
        scale_link.write_text("keep me")
        with pytest.raises(FileExistsError):
            ScaleSimulator("comma", link=scale_link).start()
        assert scale_link.read_text() == "keep me"

    def test_without_a_link_the_port_is_the_pty(self) -> None:
        with ScaleSimulator("comma") as sim:
            assert sim.port == sim.slave_path
            assert sim.port.startswith("/dev/")


@needs_pty
def test_request_response_emulator_answers_on_the_line() -> None:
    with ScaleSimulator(AskedEmulator()) as sim:
        sim.set_weight("4.25")
        port = serial.Serial(sim.port, 9600, timeout=2)
        try:
            assert sim.frames_sent == 0
            port.write(b"W\r")
            port.write(b"\n")
            assert port.readline() == b"ST,GS,+0004.25kg\r\n"
            port.write(b"Z\r\nW\r\n")
            assert port.readline() == b"OK\r\n"
            assert port.readline() == b"ST,GS,+0000.00kg\r\n"
            assert sim.snapshot().weight == Decimal("0.00")
        finally:
            port.close()


def test_other_protocol_names_are_accepted_by_name() -> None:
    with pytest.raises(ValueError, match="unknown scale protocol"):
        ScaleSimulator("no-such-protocol")
    with pytest.raises(ValueError):
        ScaleSimulator("comma", rate_hz=0)


class TestDemoScenario:
    def test_is_reproducible_with_a_seed(self) -> None:
        sim = ScaleSimulator("comma")
        first = list(islice(DemoScenario(sim, seed=7).steps(), 60))
        again = list(islice(DemoScenario(sim, seed=7).steps(), 60))
        other = list(islice(DemoScenario(sim, seed=8).steps(), 60))
        assert first == again
        assert first != other

    def test_cycles_like_a_counter(self) -> None:
        scenario = DemoScenario(ScaleSimulator("comma"), seed=1)
        steps = list(islice(scenario.steps(), 200))
        stable_items = [s for s in steps if not s.motion and s.weight > 0]
        assert len(stable_items) >= 10
        for step in steps:
            assert isinstance(step.weight, Decimal)
            assert step.weight.as_tuple().exponent == -2
            assert step.weight >= 0
        for item in stable_items:
            assert Decimal("0.40") <= item.weight <= Decimal("45.00")
            assert item.seconds == pytest.approx(8.0)
        # Each item: empty and stable, some motion, stable on the item, motion off.
        first_item = steps.index(stable_items[0])
        assert steps[0] == DemoStep(Decimal("0.00"), False, 3.0)
        assert all(s.motion for s in steps[1:first_item])
        assert steps[first_item + 1].motion and steps[first_item + 2].motion
        assert steps[first_item + 3].weight == 0 and not steps[first_item + 3].motion

    @needs_pty
    def test_drives_a_simulator(self, simulator: ScaleSimulator, wait_until: WaitUntil) -> None:
        scenario = DemoScenario(simulator, seed=3, speed=50.0)
        scenario.start()
        try:
            wait_until(
                lambda: simulator.snapshot().weight > 0 and not simulator.snapshot().motion,
                message="a stable item on the platform",
            )
            wait_until(lambda: simulator.snapshot().motion, message="motion")
        finally:
            scenario.stop()
        assert not scenario.running


def test_importing_the_simulator_needs_no_posix_modules() -> None:
    code = (
        "import sys; import drivers.scale.simulator; "
        "bad = {'pty', 'tty', 'termios', 'fcntl'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", ["transport.py", "ports.py", "framing.py", "comma.py"])
def test_windows_safe_modules_import_nothing_posix_only(module: str) -> None:
    tree = ast.parse((ROOT / "drivers" / "scale" / module).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"pty", "tty", "termios", "fcntl", "posix", "select", "grp", "pwd"}
