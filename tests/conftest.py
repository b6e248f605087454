"""Fixtures shared by the whole suite."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _xdg_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg")


_xdg_numbers = itertools.count()


@pytest.fixture(autouse=True)
def isolated_dirs(_xdg_base: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the platform config/data/cache directories into a folder of this test's own.

    platformdirs follows the XDG variables on Linux and the BSDs, so no test reads
    a technician's real configuration or writes into the real data directory.
    ``$COUNTER_CONFIG`` is cleared so the default location is what a test sees.
    Returns the directory that holds them; it does not exist yet, as on a new machine.

    Not under ``tmp_path``: pytest makes each ``tmp_path`` by listing every earlier
    test's folder to number the next one, a cost that grows with the suite and that
    the many tests needing no files at all (parsers, printer bytes) would pay too.
    """
    home = _xdg_base / str(next(_xdg_numbers))
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
