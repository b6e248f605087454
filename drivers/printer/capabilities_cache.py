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
import hashlib
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


def pickle_folder(folder: Path, source: Path) -> Path:
    """The folder under ``folder`` for the pickle of ``source``: named after the file's
    path, size and modification time, so a pickle never outlives the database it was
    made from (another ``ESCPOS_CAPABILITIES_FILE``, or a python-escpos upgrade that
    keeps the original file times, as Debian's packages do)."""
    facts = source.stat()
    identity = f"{source.resolve()}\0{facts.st_size}\0{facts.st_mtime_ns}"
    return folder / hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def _loads(target: Path) -> bool:
    """Whether ``target`` is a pickle python-escpos can load: a file emptied by a power
    cut, or one another user made unreadable, would stop the counter at start."""
    try:
        with target.open("rb") as file:
            pickle.load(file)
    except Exception:  # any damage at all means: make it again
        return False
    return True


def cache_capabilities() -> None:
    """Make the pickle under the folder ``ESCPOS_CAPABILITIES_PICKLE_DIR`` names, in a
    folder of its own source file (:func:`pickle_folder`), when it is missing or does not
    load, and point the variable there. Without the variable, nothing.

    A folder that cannot be written, or a capabilities file that is not JSON, leaves
    python-escpos to its own ways: the variable is removed (escpos would fail to write
    its pickle there) and escpos parses the file itself.
    """
    folder = os.environ.get(PICKLE_DIR_VARIABLE)
    source = capabilities_file()
    if not folder or source is None:
        return
    try:
        own = pickle_folder(Path(folder), source)
        target = pickle_path(own)
        if not _loads(target):
            own.mkdir(parents=True, exist_ok=True)
            with source.open(encoding="utf-8") as file:
                capabilities = json.load(file)
            handle, temporary = tempfile.mkstemp(dir=own, prefix=".capabilities-")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump(capabilities, out, protocol=2)
                    # On disk before the rename: after a power cut the name must not
                    # point at an empty file.
                    out.flush()
                    os.fsync(out.fileno())
                # Readable by every user of the machine, as escpos's own would be.
                os.chmod(temporary, 0o644)
                # Whole or not at all, also for a process that looks at this moment.
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        os.environ[PICKLE_DIR_VARIABLE] = str(own)
    except (OSError, ValueError):
        os.environ.pop(PICKLE_DIR_VARIABLE, None)
