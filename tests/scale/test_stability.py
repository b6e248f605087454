"""Software stability, with explicit monotonic times (no clock in the code)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.scale.reading import Reading
from drivers.scale.stability import DEFAULT_COUNT, DEFAULT_WINDOW_MS, SoftwareStability

DIVISION = Decimal("0.02")


def weight(value: str, unit: str = "kg", stable: bool | None = None) -> Reading:
    return Reading(Decimal(value), unit, stable, raw=value.encode())


def run(
    stability: SoftwareStability, values: list[str], start_ms: int = 0, step_ms: int = 100
) -> list[bool | None]:
    """Feed the values at a fixed rate; return the stable flag of each result."""
    return [
        stability.apply(weight(value), start_ms + i * step_ms).stable
        for i, value in enumerate(values)
    ]


def test_defaults() -> None:
    stability = SoftwareStability(DIVISION)
    assert (stability.count, stability.window_ms) == (DEFAULT_COUNT, DEFAULT_WINDOW_MS) == (5, 1000)


def test_a_resting_weight_becomes_stable_after_the_window() -> None:
    # 10 readings a second: the window (1000 ms) is the limit, not the count.
    flags = run(SoftwareStability(DIVISION), ["12.34"] * 15)
    assert flags[:10] == [False] * 10  # 0 .. 900 ms: not a full second yet
    assert flags[10:] == [True] * 5  # from 1000 ms


def test_a_slow_indicator_needs_the_count() -> None:
    # 2 readings a second: after 1000 ms there are only 3 readings; 5 are needed.
    flags = run(SoftwareStability(DIVISION), ["12.34"] * 7, step_ms=500)
    assert flags == [False, False, False, False, True, True, True]


def test_flicker_of_one_division_stays_stable() -> None:
    values = ["12.34", "12.36"] * 10
    flags = run(SoftwareStability(DIVISION), values)
    assert flags[10:] == [True] * 10


def test_a_change_of_more_than_one_division_is_motion() -> None:
    stability = SoftwareStability(DIVISION)
    assert run(stability, ["12.34"] * 12)[-1] is True
    # 12.37 is 0.03 from 12.34: motion at once, and for a full window after.
    flags = run(stability, ["12.37"] * 12, start_ms=1200)
    assert flags[:10] == [False] * 10
    assert flags[10:] == [True, True]


def test_a_slow_drift_is_not_stable() -> None:
    values = [str(Decimal("10.00") + Decimal("0.01") * i) for i in range(30)]
    assert not any(run(SoftwareStability(DIVISION), values))


def test_exact_decimals_at_the_edge_of_one_division() -> None:
    stability = SoftwareStability(Decimal("0.1"))
    flags = run(stability, ["0.1", "0.2", "0.1", "0.2", "0.1", "0.2", "0.1", "0.2"], step_ms=250)
    assert flags[-1] is True  # 0.2 - 0.1 == 0.1 exactly (a float would say 0.1000000001)


def test_readings_with_a_flag_pass_through_unchanged_and_leave_no_trace() -> None:
    stability = SoftwareStability(DIVISION)
    flagged = weight("99.00", stable=False)
    assert stability.apply(flagged, 0) is flagged
    assert run(stability, ["12.34"] * 11, start_ms=10)[-1] is True
    flagged_stable = weight("50.00", stable=True)
    assert stability.apply(flagged_stable, 2000) is flagged_stable
    assert stability.apply(weight("12.34"), 2100).stable is True


def test_status_and_error_readings_pass_through_and_start_afresh() -> None:
    stability = SoftwareStability(DIVISION)
    assert run(stability, ["12.34"] * 11)[-1] is True
    overload = Reading(None, "kg", None, overload=True, kind="status")
    assert stability.apply(overload, 1100) is overload
    error = Reading(None, None, None, kind="error", error="unreadable")
    assert stability.apply(error, 1150) is error
    flags = run(stability, ["12.34"] * 11, start_ms=1200)
    assert flags[:10] == [False] * 10
    assert flags[10] is True


def test_a_unit_change_starts_afresh() -> None:
    stability = SoftwareStability(DIVISION)
    assert run(stability, ["12.34"] * 11)[-1] is True
    assert stability.apply(weight("12.34", unit="lb"), 1100).stable is False


def test_time_running_backwards_starts_afresh() -> None:
    stability = SoftwareStability(DIVISION)
    assert run(stability, ["12.34"] * 11, start_ms=5000)[-1] is True
    assert stability.apply(weight("12.34"), 100).stable is False


def test_reset_forgets_the_history() -> None:
    stability = SoftwareStability(DIVISION)
    assert run(stability, ["12.34"] * 11)[-1] is True
    stability.reset()
    assert stability.apply(weight("12.34"), 1100).stable is False


def test_the_rest_of_the_reading_is_kept() -> None:
    original = Reading(Decimal("5.00"), "kg", None, net=True, raw=b"x", tare=Decimal("1.00"))
    result = SoftwareStability(DIVISION).apply(original, 0)
    assert result.stable is False
    assert (result.weight, result.unit, result.net, result.raw, result.tare) == (
        Decimal("5.00"),
        "kg",
        True,
        b"x",
        Decimal("1.00"),
    )


def test_a_long_rest_stays_stable_and_memory_stays_small() -> None:
    stability = SoftwareStability(DIVISION)
    flags = run(stability, ["12.34"] * 5000, step_ms=50)
    assert all(flags[20:])
    assert len(stability._history) <= 21  # one window at 20 readings a second


def test_custom_count_and_window() -> None:
    stability = SoftwareStability(Decimal(1), count=2, window_ms=0)
    assert run(stability, ["5", "5"]) == [False, True]


@pytest.mark.parametrize(
    "arguments",
    [
        {"division": Decimal(0)},
        {"division": Decimal("-0.01")},
        {"division": Decimal("NaN")},
        {"division": 0.01},
        {"division": DIVISION, "count": 0},
        {"division": DIVISION, "window_ms": -1},
    ],
)
def test_invalid_settings_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SoftwareStability(**arguments)  # type: ignore[arg-type]
