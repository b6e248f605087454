"""``counter export``: the drop-offs of a period as CSV, XLSX or JSON.

What a program reads does not change with the language: the CSV, XLSX and JSON are the
same bytes in every language. ``--output`` never overwrites a database: not the
configured one, its ``-wal``, ``-shm`` or ``-journal``, nor any SQLite file, through a
symlink either, not even with ``--force``. An existing regular file is replaced only
with ``--force``. A regular file is written through a temporary file in the same folder
and a rename (a new one with mode 0600); a device or pipe, and ``-`` (standard output),
are written directly.
"""

from __future__ import annotations

import argparse
import errno
import io
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

    def write(self, data: bytes) -> None:
        """Write ``data`` completely, or leave no file behind.

        A regular file is filled as a temporary file in the same folder, which then
        takes the output's name in one step: an export that fails half-way (a full
        disk) leaves no half file that looks like a whole one, and an earlier export
        under the same name stays as it was. A new file gets mode 0600; a file
        replaced with --force keeps its mode. A device or pipe is written directly.
        """
        self.check()
        target = self.target
        try:
            if target.exists() and not target.is_file():
                with target.open("wb") as stream:
                    stream.write(data)
                return
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            partial = Path(name)
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
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


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    def body() -> int:
        from db.export import ExportIncomplete, export_rows, write_csv, write_json, write_xlsx
        from db.verify import chain_heads

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
        with open_for_reading(ctx, messages) as engine:
            try:
                rows = export_rows(engine, start, end, STATION_TZ)
            except ExportIncomplete as exc:
                raise CannotWrite(
                    messages.t("cli_export.rows_missing", found=exc.found, expected=exc.expected)
                ) from exc
            # The whole hash of each station's newest link: the export can later prove
            # with 'counter verify --anchor' that the database still holds this state.
            anchors = [anchor.text(64) for anchor in chain_heads(engine)]

        # The whole export is made in memory first, so a file or device gets either
        # all of it or a clear message (never a half workbook and a traceback).
        if args.fmt == "xlsx":
            buffer = io.BytesIO()
            write_xlsx(rows, buffer, start_day=start, end_day=end, tz=STATION_TZ, anchors=anchors)
            data = buffer.getvalue()
        else:
            stream = io.StringIO(newline="")
            if args.fmt == "csv":
                write_csv(rows, stream)
            else:
                write_json(rows, stream, start_day=start, end_day=end, anchors=anchors)
            if output is None:
                ctx.out.write(stream.getvalue())
                return 0
            data = stream.getvalue().encode("utf-8")
        assert output is not None
        output.write(data)
        print(counted(messages, "cli_export.written", len(rows), path=args.output), file=ctx.err)
        return 0

    return run_command(ctx, body)
