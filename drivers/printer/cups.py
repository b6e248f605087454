"""A printer behind a CUPS queue, sent raw: CUPS passes the ESC/POS bytes through as-is.

The job goes through the ``lp`` command (``lp -d QUEUE -o raw``, the bytes on its
standard input) when it is installed, which needs no Python package; otherwise through
pycups if that is importable. An empty queue name means the CUPS default printer.

CUPS only queues the job: ``send`` returns once CUPS accepted it, and whether the
printer printed it is CUPS's business. The printer cannot be asked ``DLE EOT`` through
a queue, so :meth:`status` reports "unknown".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any

from drivers.printer.connection import (
    PrinterConnection,
    PrinterError,
    PrinterFault,
    PrinterUnavailable,
)

JOB_TITLE = "counter label"


def _import_pycups() -> Any:
    import cups

    return cups


class CupsConnection(PrinterConnection):
    """CUPS queue ``queue`` (``""``: the default printer). ``timeout``: seconds for ``lp``."""

    kind = "cups"

    def __init__(self, queue: str = "", timeout: float = 30.0) -> None:
        self.queue = queue
        self.timeout = timeout

    def describe(self) -> str:
        return f"CUPS queue {self.queue}" if self.queue else "CUPS default printer"

    def _queue_words(self) -> str:
        return f"CUPS queue {self.queue!r}" if self.queue else "the CUPS default printer"

    def _refused(self, message: str) -> PrinterUnavailable:
        return PrinterUnavailable(
            message, fault=PrinterFault.SPOOLER_REFUSED, where=self.queue or "CUPS"
        )

    def send(self, data: bytes) -> None:
        """Hand the job to CUPS; raises :class:`PrinterUnavailable` if CUPS refuses it."""
        lp = shutil.which("lp")
        if lp is not None:
            self._send_with_lp(lp, data)
            return
        try:
            cups = _import_pycups()
        except ImportError:
            raise self._refused(
                f"cannot print to {self._queue_words()}: neither the lp command nor the "
                "pycups package is installed (install the CUPS client, e.g. cups-client or "
                "cups-bsd)"
            ) from None
        self._send_with_pycups(cups, data)

    def _send_with_lp(self, lp: str, data: bytes) -> None:
        command = [lp]
        if self.queue:
            command += ["-d", self.queue]
        command += ["-t", JOB_TITLE, "-o", "raw"]
        try:
            result = subprocess.run(
                command,
                input=data,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                env={**os.environ, "LC_ALL": "C"},  # lp's messages in plain English
            )
        except subprocess.TimeoutExpired as exc:
            raise PrinterError(
                f"the lp command did not finish within {self.timeout:g} s for "
                f"{self._queue_words()}: the job may or may not be queued",
                uncertain=True,
                fault=PrinterFault.NOT_CONFIRMED,
                where=self.queue or "CUPS",
            ) from exc
        except OSError as exc:
            raise self._refused(f"the lp command cannot be run ({exc})") from exc
        if result.returncode != 0:
            said = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
            raise self._refused(
                f"CUPS did not accept the job for {self._queue_words()} ({said}): check the "
                "queue name in the config (lpstat -p lists the queues)"
            )

    def _send_with_pycups(self, cups: Any, data: bytes) -> None:
        try:
            connection = cups.Connection()
            queue = self.queue or connection.getDefault()
            if not queue:
                raise self._refused("CUPS has no default printer: set the queue name in the config")
            if queue not in connection.getPrinters():
                raise self._refused(
                    f"CUPS has no queue {queue!r}: check the queue name in the config "
                    "(lpstat -p lists the queues)"
                )
            with tempfile.NamedTemporaryFile(prefix="counter-label-", suffix=".bin") as job:
                job.write(data)
                job.flush()
                raw = getattr(cups, "CUPS_FORMAT_RAW", "application/vnd.cups-raw")
                connection.printFile(queue, job.name, JOB_TITLE, {"document-format": raw})
        except (RuntimeError, cups.IPPError) as exc:  # no scheduler / refused by it
            raise self._refused(
                f"CUPS did not accept the job for {self._queue_words()} ({exc}): is the CUPS "
                "service running?"
            ) from exc
