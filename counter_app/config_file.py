"""Where the counter's configuration file is, and what is wrong with one.

Apart from :mod:`counter_app.config` (the pydantic models) so that finding the file,
reading its ``language`` for the command line's own words, and reporting a file that
is missing load no pydantic: ``counter --help`` and ``counter --version`` need nothing
more. :mod:`counter_app.config` re-exports every name here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

APP_NAME: Final = "milieustraat-counter"
CONFIG_ENV: Final = "COUNTER_CONFIG"
CONFIG_FILENAME: Final = "config.toml"


# --------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in the file. ``key`` is dotted (``"scale.baudrate"``); empty for
    a problem with the whole file; ``table`` is True when ``key`` names a table."""

    key: str
    line: int | None
    message: str
    table: bool = False

    def display_key(self) -> str:
        """``[scale] baudrate`` for a key in a table, ``[scale]`` for a table."""
        if not self.key:
            return ""
        if self.table:
            return f"[{self.key}]"
        head, dot, last = self.key.rpartition(".")
        return f"[{head}] {last}" if dot else last

    def format(self, source: Path | str | None) -> str:
        where = str(source) if source is not None else "config"
        if self.line is not None:
            where += f":{self.line}"
        key = self.display_key()
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` lists every problem, one a line."""

    def __init__(self, problems: Iterable[ConfigProblem], source: Path | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


# --------------------------------------------------------------------------------------
# Finding the file


ConfigOrigin = Literal["--config", "COUNTER_CONFIG", "default"]


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def config_path_candidate(explicit: str | Path | None = None) -> tuple[Path, ConfigOrigin]:
    """The file that would be read and why: ``--config``, ``$COUNTER_CONFIG`` or default."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser(), "--config"
    from_env = os.environ.get(CONFIG_ENV, "")
    if from_env:
        return Path(from_env).expanduser(), "COUNTER_CONFIG"
    return default_config_path(), "default"


def find_config_path(explicit: str | Path | None = None) -> Path | None:
    """The configuration file to read, or ``None`` for demo defaults.

    Raises :class:`ConfigError` when a file named by ``--config`` or
    ``$COUNTER_CONFIG`` does not exist or is not a file.
    """
    path, origin = config_path_candidate(explicit)
    if origin == "default":
        return path if path.is_file() else None
    named_by = "--config" if origin == "--config" else f"${CONFIG_ENV}"
    if not path.exists():
        raise ConfigError([ConfigProblem("", None, f"file not found (named by {named_by})")], path)
    if not path.is_file():
        raise ConfigError([ConfigProblem("", None, f"not a file (named by {named_by})")], path)
    return path
