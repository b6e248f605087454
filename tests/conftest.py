"""Fixtures shared by the whole suite."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the platform config/data/cache directories into ``tmp_path``.

    platformdirs follows the XDG variables on Linux and the BSDs, so no test reads
    a technician's real configuration or writes into the real data directory.
    ``$COUNTER_CONFIG`` is cleared so the default location is what a test sees.
    Returns the directory that holds them.
    """
    home = tmp_path / "xdg"
    for variable, name in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(variable, str(home / name))
    monkeypatch.delenv("COUNTER_CONFIG", raising=False)
    return home


ConfigFileFactory = Callable[..., Path]


@pytest.fixture
def config_file(tmp_path: Path) -> ConfigFileFactory:
    """Write a TOML configuration file: ``config_file('''[station]\\nid = "MS02"''')``.

    The text is dedented, so a test can indent it with the code. ``name`` picks the
    file name inside ``tmp_path`` (default ``config.toml``).
    """

    def write(text: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
