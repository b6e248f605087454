"""The installed version of the counter, for ``counter --version`` and crash reports."""

from __future__ import annotations


def installed_version() -> str:
    """The package's version as installed, or ``"unknown"`` when run from loose files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("milieustraat-counter")
    except PackageNotFoundError:
        return "unknown"
