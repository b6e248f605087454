"""Scale indicators: sans-I/O protocol parsers, the serial transport, the simulator."""

from drivers.scale.reading import IndicatorState, Reading, to_grams

__all__ = ["IndicatorState", "Reading", "to_grams"]
