"""``counter export``: the drop-offs of a period as CSV, XLSX or JSON.

What a program reads does not change with the language: the CSV, XLSX and JSON are the
same bytes in every language. ``--output`` never overwrites a database: not the
configured one, its ``-wal``, ``-shm`` or ``-journal``, nor any SQLite file, through a
symlink either, not even with ``--force``. An existing regular file is replaced only
with ``--force``. A regular file is written through a temporary file in the same folder
and a rename (a new one with mode 0600); a device or pipe, and ``-`` (standard output),
are written directly once the export is whole (it is made in an anonymous temporary
file first). Rows are written as they are read: memory does not grow with the period.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

from counter_app.cli.database import (
    CannotWrite,
    UsageError,
    counted,
    messages_for,
    open_for_reading,
    parse_day,
    run_command,
)
from db.domain import STATION_TZ

if TYPE_CHECKING:
    from counter_app.cli.context import CliContext
    from counter_app.i18n import Messages


_SQLITE_HEADER = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html 1.3
_WAL_MAGIC = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")  # fileformat.html 4.1
_DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")
_COPY_CHUNK = 1 << 20  # characters or bytes per step from a spool to its target


def register(subparsers: Any, messages: Messages) -> None:
    t = messages.t
    export = subparsers.add_parser(
        "export", help=t("cli_help.export"), description=t("cli_help.export_description")
    )
    export.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD")
    export.add_argument("--format", dest="fmt", required=True, choices=("csv", "xlsx", "json"))
    export.add_argument(
        "--output",
        metavar="F",
        help=t("cli_help.export_output"),
    )
    export.add_argument("--force", action="store_true", help=t("cli_help.export_force"))
    export.set_defaults(handler=_export)


# -- export ----------------------------------------------------------------------------


def _is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts like an SQLite database or WAL."""
    try:
        if not path.is_file():
            return False
        with path.open("rb") as stream:
            header = stream.read(len(_SQLITE_HEADER))
    except OSError:
        return False
    return header == _SQLITE_HEADER or header[:4] in _WAL_MAGIC


def _is_database(target: Path, database: Path) -> bool:
    """Whether writing ``target`` (resolved) could damage a database: the counter's own
    or its companion files, any SQLite file, or a companion of one."""
    database = database.expanduser().resolve()
    if target in {database, *(Path(f"{database}{end}") for end in _DATABASE_COMPANIONS)}:
        return True
    try:
        if target.exists() and database.exists() and os.path.samefile(target, database):
            return True
    except OSError:
        pass
    if _is_sqlite_file(target):
        return True
    return any(
        target.name.endswith(end) and _is_sqlite_file(target.with_name(target.name[: -len(end)]))
        for end in _DATABASE_COMPANIONS
    )


class _Output:
    """Where ``export --output`` writes, and the checks that keep it from harm."""

    def __init__(self, output: str, database: Path, *, force: bool, messages: Messages) -> None:
        self.output = output
        self.target = Path(output).resolve()  # through symlinks: what would be written
        self.database = database
        self.force = force
        self.messages = messages

    def _refusal(self, key: str) -> CannotWrite:
        return CannotWrite(self.messages.t(key, path=self.output))

    def _cannot_write(self, exc: OSError) -> CannotWrite:
        reason = exc.strerror or exc
        return CannotWrite(
            self.messages.t("cli_export.cannot_write", path=self.output, reason=reason)
        )

    def check(self) -> None:
        """Refuse a database (always) and an existing regular file (without --force)."""
        if _is_database(self.target, self.database):
            raise self._refusal("cli_export.output_is_database")
        if self.target.is_dir():
            raise self._cannot_write(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
        if self.target.is_file() and not self.force:
            raise self._refusal("cli_export.output_exists")

    @contextmanager
    def writing(self, *, text: bool) -> Iterator[IO[Any]]:
        """A stream the export is written to as it is made; the output gets all of it
        when the block ends normally, and nothing at all when it raises.

        A regular file is filled as a temporary file in the same folder, which then
        takes the output's name in one step: an export that fails half-way (a full
        disk, a damaged database) leaves no half file that looks like a whole one, and
        an earlier export under the same name stays as it was. A new file gets mode
        0600; a file replaced with --force keeps its mode. A device or pipe is written
        directly, from a spool in the system's temporary folder once the export is
        whole. ``text``: a UTF-8 text stream (``newline=""``), else a binary one.
        """
        self.check()
        target = self.target
        try:
            if target.exists() and not target.is_file():
                with _spool(text=text) as spool:
                    yield spool
                    device = (
                        target.open("w", encoding="utf-8", newline="")
                        if text
                        else target.open("wb")
                    )
                    with device:
                        _copy(spool, device)
                return
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            partial = Path(name)
            try:
                with os.fdopen(fd, "wb") as raw:
                    if text:
                        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as wrapper:
                            yield wrapper
                            wrapper.flush()
                            os.fsync(raw.fileno())
                    else:
                        yield raw
                        raw.flush()
                        os.fsync(raw.fileno())
                os.chmod(partial, 0o600)
                self._publish(partial)
            finally:
                partial.unlink(missing_ok=True)
        except OSError as exc:
            raise self._cannot_write(exc) from exc

    def _publish(self, partial: Path) -> None:
        self.check()  # again: the file may have appeared while the export was read
        if self.force:
            if self.target.is_file():
                os.chmod(partial, stat.S_IMODE(self.target.stat().st_mode))
            os.replace(partial, self.target)
            return
        try:
            # A hard link never replaces a file that appeared after the check.
            os.link(partial, self.target)
        except FileExistsError:
            raise self._refusal("cli_export.output_exists") from None
        except OSError:
            # A file system without hard links (FAT): checked just above.
            os.replace(partial, self.target)


@contextmanager
def _spool(*, text: bool) -> Iterator[IO[Any]]:
    """An anonymous temporary file: an export for a pipe, a device or standard output
    is made here first, so a failure half-way sends nothing at all."""
    with tempfile.TemporaryFile("w+b") as raw:
        if not text:
            yield raw
            return
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as spool:
            yield spool


def _copy(spool: IO[Any], target: IO[Any]) -> None:
    spool.flush()
    spool.seek(0)
    while chunk := spool.read(_COPY_CHUNK):
        target.write(chunk)
    target.flush()


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.export import ExportIncomplete, read_export, write_csv, write_json, write_xlsx

        messages = messages_for(ctx)
        start = parse_day(args.start, "--from", messages)
        end = parse_day(args.end, "--to", messages)
        if end < start:
            raise UsageError(messages.t("cli_export.period_reversed", start=start, end=end))
        to_stdout = args.output in (None, "", "-")
        if args.fmt == "xlsx" and to_stdout:
            raise UsageError(messages.t("cli_export.xlsx_needs_output"))
        output = None
        if not to_stdout:
            output = _Output(
                args.output, ctx.config.database_path(), force=args.force, messages=messages
            )
            output.check()  # before reading: a refused output costs nothing
        # Rows are written as they are read, into a stream the output gets only when
        # the export is whole: never a half file, half workbook or half a pipe.
        text = args.fmt != "xlsx"
        writing = _spool(text=True) if output is None else output.writing(text=text)
        with (
            open_for_reading(ctx, messages) as engine,
            read_export(engine, start, end, STATION_TZ) as export,
            writing as stream,
        ):
            try:
                if args.fmt == "csv":
                    count = write_csv(export.rows, cast(TextIO, stream))
                elif args.fmt == "json":
                    # The whole hash of each station's newest link: the export can
                    # later prove with 'counter verify --anchor' that the database
                    # still holds this state.
                    count = write_json(
                        export.rows,
                        cast(TextIO, stream),
                        start_day=start,
                        end_day=end,
                        anchors=export.anchors,
                    )
                else:
                    count = write_xlsx(
                        export.rows,
                        stream,
                        start_day=start,
                        end_day=end,
                        tz=STATION_TZ,
                        anchors=export.anchors,
                    )
            except ExportIncomplete as exc:
                raise CannotWrite(
                    messages.t("cli_export.rows_missing", found=exc.found, expected=exc.expected)
                ) from exc
            if output is None:
                _copy(stream, ctx.out)
                return 0
        print(counted(messages, "cli_export.written", count, path=args.output), file=ctx.err)
        return 0

    return run_command(ctx, body)
