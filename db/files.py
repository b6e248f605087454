"""The files and folders the counter makes: for its own user only.

Apart from :mod:`db.engine` (which re-exports them) so that the counter makes its data
directory, and a crash report its file, without loading SQLAlchemy before the first
screen is painted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# New files and folders the counter makes are for its own user only (POSIX modes).
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def make_private_dir(folder: Path) -> Path:
    """Make ``folder`` and its missing parents, readable by this user only (POSIX).

    A folder that already exists keeps the permissions the site gave it.
    """
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        for made in missing:
            with contextlib.suppress(OSError):
                # mkdir's own mode argument is filtered by the umask; chmod is not.
                os.chmod(made, PRIVATE_DIR_MODE)
    return folder
