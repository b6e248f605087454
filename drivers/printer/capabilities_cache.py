"""python-escpos's printer database, read from a whole pickle instead of parsed as YAML.

On import, python-escpos parses its printer database (``capabilities.json``, about
100 kB) with PyYAML's pure-Python parser, about 0.3 s of CPU, unless the folder named by
``ESCPOS_CAPABILITIES_PICKLE_DIR`` holds a pickle of it at least as new as the file
(without the variable it makes a new temporary folder every time, so it always parses).
When it does parse, it writes that pickle in place: a second process starting at the
same moment can find the file half written and fail to load it.

:func:`cache_capabilities` makes that pickle first, from the JSON (a few milliseconds),
and puts it in place whole; called before escpos is imported, escpos only loads it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import platform
import tempfile
from importlib.util import find_spec
from pathlib import Path

#: python-escpos's own variable: the folder of its capabilities pickle.
PICKLE_DIR_VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"
#: python-escpos's own variable: another capabilities file than its own.
FILE_VARIABLE = "ESCPOS_CAPABILITIES_FILE"


def capabilities_file() -> Path | None:
    """The capabilities file python-escpos reads (without importing it)."""
    named = os.environ.get(FILE_VARIABLE)
    if named:
        return Path(named)
    spec = find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"


def pickle_path(folder: Path) -> Path:
    """Where python-escpos looks for the pickle in ``folder`` (its own naming)."""
    return folder / f"{platform.python_version()}.capabilities.pickle"


def cache_capabilities() -> None:
    """Make the pickle in the folder ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names, when it is
    missing or older than the capabilities file. Without the variable, nothing.

    A folder that cannot be written, or a capabilities file that is not JSON, leaves
    python-escpos to its own ways: the variable is removed (escpos would fail to write
    its pickle there) and escpos parses the file itself.
    """
    folder = os.environ.get(PICKLE_DIR_VARIABLE)
    source = capabilities_file()
    if not folder or source is None:
        return
    target = pickle_path(Path(folder))
    try:
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        with source.open(encoding="utf-8") as file:
            capabilities = json.load(file)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".capabilities-")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(capabilities, out, protocol=2)
            # Whole or not at all, also for a process that looks at this moment.
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except (OSError, ValueError):
        os.environ.pop(PICKLE_DIR_VARIABLE, None)
