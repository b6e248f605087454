"""What happens when the counter meets an error nobody foresaw.

Every command and the counter screen end the same way: the process exits with
:data:`CRASH_EXIT_STATUS` (never 0), a crash report is written to the data directory
(``crash-YYYYmmdd-HHMMSS-<pid>.txt``: the traceback, the version, the command line;
no local variables, environment or other personal data), readable by its owner only,
and one line in the configured language says where the report is.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from counter_app.version import installed_version

if TYPE_CHECKING:
    from textual.app import App

    from counter_app.config import Config

#: EX_SOFTWARE of BSD's sysexits.h: "an internal software error has been detected".
CRASH_EXIT_STATUS = 70


def data_dir() -> Path:
    """The counter's data directory, also when the configuration could not be read."""
    import platformdirs

    from counter_app.config import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME))


def crash_report_text(error: BaseException, argv: Sequence[str], now: datetime) -> str:
    """The report: when, which version and command, and the traceback (no locals)."""
    lines = [
        "Milieustraat counter crash report",
        f"time: {now.isoformat(timespec='seconds')}",
        f"version: {installed_version()}",
        f"python: {platform.python_version()} ({platform.system()} {platform.machine()})",
        f"command: counter {' '.join(argv)}".rstrip(),
        "",
        "".join(traceback.format_exception(error)).rstrip(),
    ]
    return "\n".join(lines) + "\n"


def write_crash_report(
    error: BaseException, argv: Sequence[str], directory: Path | None = None
) -> Path:
    """Write the report for ``error`` into ``directory`` (the data directory); its path."""
    # db.engine loads SQLAlchemy: only when there is a report to write.
    from db.files import PRIVATE_FILE_MODE, make_private_dir

    folder = make_private_dir(directory or data_dir())
    now = datetime.now(UTC)
    stem = f"crash-{now:%Y%m%d-%H%M%S}-{os.getpid()}"
    text = crash_report_text(error, argv, now).encode("utf-8")
    for attempt in range(100):
        path = folder / (f"{stem}.txt" if attempt == 0 else f"{stem}-{attempt}.txt")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as stream:
            stream.write(text)
        return path
    raise FileExistsError(f"too many crash reports named {stem} in {folder}")


def _language(config: Config | None, config_arg: str | None) -> str:
    """The configured language; Dutch when the configuration cannot be read either."""
    if config is None:
        try:
            from counter_app.config import load_config

            config = load_config(config_arg)
        except Exception:
            return "nl"
    return config.language


def report_crash(
    error: BaseException,
    argv: Sequence[str],
    *,
    config: Config | None = None,
    config_arg: str | None = None,
    err: TextIO | None = None,
) -> int:
    """Write the crash report and say where it is; the exit status to end with."""
    from counter_app.i18n import Messages

    stream = err or sys.stderr
    messages = Messages(_language(config, config_arg))
    try:
        path = write_crash_report(error, argv)
    except Exception as failure:
        # No report: the traceback goes to the screen, so it is not lost as well.
        traceback.print_exception(error, file=stream)
        reason = getattr(failure, "strerror", None) or str(failure) or type(failure).__name__
        line = messages.t("crash.no_report", folder=data_dir(), error=reason)
    else:
        line = messages.t("crash.report", path=path)
    with contextlib.suppress(Exception):
        print(line, file=stream)
        stream.flush()
    return CRASH_EXIT_STATUS


def run_app(app: App[Any]) -> int:
    """Run a Textual app; an exception that ended it is raised again, after it closed.

    Textual catches an exception in the app, restores the terminal and then prints a
    traceback with local variables. Here that printout is held back (the crash report
    gets the traceback instead) and the exception is raised again for the command
    line's crash handling. Anything else Textual had to say is printed as usual.
    """
    from rich.console import Console

    held = io.StringIO()
    app.error_console = Console(file=held, markup=False, highlight=False, width=100)
    app.run()
    error = app._exception
    if error is not None:
        raise error
    if held.getvalue():
        sys.stderr.write(held.getvalue())
    return app.return_code or 0


__all__ = [
    "CRASH_EXIT_STATUS",
    "crash_report_text",
    "data_dir",
    "report_crash",
    "run_app",
    "write_crash_report",
]
