"""Drive the real counter: real simulator on a pty, real SQLite file, preview printer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from counter_app.config import Config, load_config
from counter_app.ui.app import CounterApp


@pytest.fixture
def counter_config(config_file: Callable[..., Path], tmp_path: Path) -> Config:
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
        path = "{tmp_path / "counter.sqlite3"}"
        """
    )
    return load_config(path)


@pytest.fixture
def make_app(counter_config: Config) -> Callable[..., CounterApp]:
    def make(config: Config | None = None) -> CounterApp:
        return CounterApp(config or counter_config, demo_scenario=False)

    return make
