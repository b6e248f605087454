"""What every command gets: the ``--config`` argument, the configuration loaded on first
use, and where to write (standard output and error, replaceable in tests)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from counter_app.config import Config


@dataclass
class CliContext:
    config_arg: str | None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _config: Config | None = None

    @property
    def config(self) -> Config:
        """The loaded configuration; raises ``ConfigError`` with a readable message."""
        if self._config is None:
            from counter_app.config import load_config

            self._config = load_config(self.config_arg)
        return self._config
