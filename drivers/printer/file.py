"""A printer reached through a device file (``/dev/usb/lp0``) or an ordinary file.

A device (character device, pipe) is written as it is, never created, and opened
non-blocking: the Linux ``usblp`` driver can hold a write for as long as the
printer does not take data (paper out, offline), so ``send`` gives up after
``timeout`` seconds instead of hanging the print service. An ordinary file is
opened for appending and created if missing, so earlier jobs written to it are
kept, then flushed to disk with ``fsync``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import time
from pathlib import Path

from drivers.printer.connection import (
    PrinterConnection,
    PrinterFault,
    PrinterNotReady,
    PrinterUnavailable,
)

#: Seconds a device may take to accept a job before ``send`` gives up.
DEFAULT_TIMEOUT = 10.0

#: The longest single wait between write attempts on a device that is busy.
_POLL_SECONDS = 0.5

_DEVICE_HINT = "is the printer plugged in and switched on?"

# errno values fsync reports for files that cannot be synced (devices, pipes).
_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EROFS})


def is_device_path(path: Path) -> bool:
    """Whether ``path`` names a device: under ``/dev`` (we never create files there)."""
    return path.is_absolute() and path.parts[1:2] == ("dev",)


def describe_os_error(path: Path, error: OSError, *, device: bool, action: str = "write to") -> str:
    """A sentence an attendant or technician understands, for a failed file operation.

    ``action`` completes "cannot ... <path>", e.g. "write to" or "create the folder".
    """
    code = error.errno
    start = f"cannot {action} {path}"
    if code == errno.ENOENT:
        if device:
            return f"{start}: no such device — {_DEVICE_HINT}"
        return f"{start}: the folder {path.parent} does not exist"
    if code in (errno.EACCES, errno.EPERM):
        if device:
            return f"{start}: permission denied — is the user in the lp group?"
        return f"{start}: permission denied"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"{start}: no space left — the disk is full"
    if code == errno.EIO:
        return (
            f"{start}: input/output error — the printer may have been unplugged or switched off"
            if device
            else f"{start}: input/output error — the disk may be failing or was removed"
        )
    if code in (errno.ENXIO, errno.ENODEV):
        return f"{start}: the device is not connected — {_DEVICE_HINT}"
    if code == errno.EISDIR:
        return f"{start}: it is a folder, not a file or a device"
    if code == errno.ENOTDIR:
        return f"{start}: part of the path is a file, not a folder"
    if code == errno.EROFS:
        return f"{start}: the file system is read-only"
    if code == errno.EBUSY:
        return f"{start}: the device is busy — is another program using the printer?"
    reason = error.strerror or (os.strerror(code) if code else str(error))
    return f"{start}: {reason[:1].lower()}{reason[1:]}"


def os_error_fault(error: OSError, *, device: bool) -> PrinterFault:
    """The fault code of a failed file operation (the same cases as the sentence)."""
    code = error.errno
    if code == errno.ENOENT:
        return PrinterFault.NO_DEVICE if device else PrinterFault.WRONG_PATH
    if code in (errno.EACCES, errno.EPERM):
        return PrinterFault.NO_PERMISSION
    if code in (errno.ENOSPC, errno.EDQUOT):
        return PrinterFault.DISK_FULL
    if code == errno.EIO:
        return PrinterFault.IO_ERROR
    if code in (errno.ENXIO, errno.ENODEV):
        return PrinterFault.NO_DEVICE
    if code in (errno.EISDIR, errno.ENOTDIR, errno.EROFS):
        return PrinterFault.WRONG_PATH
    if code == errno.EBUSY:
        return PrinterFault.DEVICE_BUSY
    return PrinterFault.OTHER


def unavailable(
    path: Path, error: OSError, *, device: bool, action: str = "write to", uncertain: bool = False
) -> PrinterUnavailable:
    """The error for a failed file operation: the sentence, the fault and the facts."""
    return PrinterUnavailable(
        describe_os_error(path, error, device=device, action=action),
        uncertain=uncertain,
        fault=os_error_fault(error, device=device),
        where=str(path),
        errno=error.errno,
    )


class FileConnection(PrinterConnection):
    """Writes each job to ``path``: a printer device or a file that collects jobs."""

    kind = "file"

    def __init__(self, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def describe(self) -> str:
        return f"file {self.path}"

    def send(self, data: bytes) -> None:
        """Write every byte of ``data`` or raise :class:`PrinterError`.

        ``PrinterUnavailable`` when the path cannot be opened or written;
        ``PrinterNotReady`` when a device takes no data within ``timeout``. Either
        has ``uncertain=True`` if part of the job was already written.
        """
        path = self.path
        try:
            info: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            info = None
        except OSError as error:
            raise unavailable(path, error, device=is_device_path(path)) from error
        if info is None and is_device_path(path):
            missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            raise unavailable(path, missing, device=True)
        if info is not None and stat.S_ISDIR(info.st_mode):
            folder = IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            raise unavailable(path, folder, device=False)
        device = info is not None and not stat.S_ISREG(info.st_mode)
        if device:
            flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY
        else:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as error:
            raise unavailable(path, error, device=device) from error
        try:
            written = self._write_all(fd, data, device)
            self._sync(fd, device)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        try:
            os.close(fd)
        except OSError as error:
            # A file system may report a failed write-back only at close.
            raise unavailable(path, error, device=device, uncertain=written > 0) from error

    def _write_all(self, fd: int, data: bytes, device: bool) -> int:
        view = memoryview(data)
        written = 0
        deadline = time.monotonic() + self.timeout
        while written < len(view):
            try:
                count = os.write(fd, view[written:])
            except BlockingIOError:
                count = 0
            except OSError as error:
                raise unavailable(self.path, error, device=device, uncertain=written > 0) from error
            written += count
            if count == 0 and written < len(view):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PrinterNotReady(
                        f"cannot write to {self.path}: the printer took "
                        f"{written} of {len(view)} bytes and then nothing for "
                        f"{self.timeout:g} s — is it out of paper, open or offline?",
                        uncertain=written > 0,
                        fault=PrinterFault.STALLED,
                        where=str(self.path),
                    )
                select.select([], [fd], [], min(remaining, _POLL_SECONDS))
        return written

    def _sync(self, fd: int, device: bool) -> None:
        try:
            os.fsync(fd)
        except OSError as error:
            if device and error.errno in _FSYNC_UNSUPPORTED:
                return  # a printer device or pipe has nothing to sync
            raise unavailable(self.path, error, device=device, uncertain=True) from error
