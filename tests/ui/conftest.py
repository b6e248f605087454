"""Drive the real counter: real simulator on a pty, real SQLite file, preview printer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from counter_app.config import Config, load_config
from counter_app.ui.app import CounterApp


@pytest.fixture
def counter_config(
    config_file: Callable[..., Path], tmp_path: Path, new_database: Callable[[Path], Path]
) -> Config:
    """The test station's configuration, on a new empty database (a copy of the one the
    migrations made for this test process: the app opens it without migrating). The
    app's own first start, creating and migrating its database, is
    tests/ui/test_first_start.py."""
    database = new_database(tmp_path / "counter.sqlite3")
    path = config_file(
        f"""
        [station]
        id = "MS01"
        name = "Milieustraat Test"
        [scale]
        port = "sim"
        [printer]
        connection = "preview"
        path = "{tmp_path / "labels"}"
        [database]
        path = "{database}"
        """
    )
    return load_config(path)


@pytest.fixture
def make_app(counter_config: Config) -> Callable[..., CounterApp]:
    def make(config: Config | None = None) -> CounterApp:
        return CounterApp(config or counter_config, demo_scenario=False)

    return make
