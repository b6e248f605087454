"""Starting the counter with a bad configuration names the problem and starts nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_counter_refuses_to_start_half_configured(config_file, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = config_file(
        """
        language = "nl"
        [scale]
        baudrat = 9600
        [printer]
        connection = "network"
        """
    )
    result = subprocess.run(
        [sys.executable, "-m", "counter_app", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert f"{path}:3: [scale] baudrat: unknown key" in result.stderr
    assert 'did you mean "baudrate"' in result.stderr
    assert "[printer]" in result.stderr and "host" in result.stderr
    # Nothing was created: no database next to a config that was refused.
    assert not list(tmp_path.rglob("*.sqlite3"))


def test_config_after_the_sub_command_is_honoured(config_file) -> None:  # type: ignore[no-untyped-def]
    from counter_app.cli import _hoist_config

    assert _hoist_config(["config", "check", "--config", "x.toml"]) == [
        "--config",
        "x.toml",
        "config",
        "check",
    ]
    assert _hoist_config(["config", "show", "--config=x.toml"]) == [
        "--config=x.toml",
        "config",
        "show",
    ]
