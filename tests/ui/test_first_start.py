"""A new site's first start: the counter creates and migrates its own database.

The other screen tests start on a copy of a new database (``counter_config``); this
one starts where a new site does, without the file or its folder.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from pilot_helpers import ready

from counter_app.config import Config, DatabaseConfig
from db.engine import HEAD_REVISION


async def test_the_first_start_creates_its_database_at_the_newest_schema(
    make_app, counter_config: Config, tmp_path: Path
) -> None:
    database = tmp_path / "new-site" / "counter.sqlite3"
    app = make_app(
        counter_config.model_copy(update={"database": DatabaseConfig(path=str(database))})
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)  # the database is open

    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {n for (n,) in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()
    assert revisions == [(HEAD_REVISION,)]
    assert {"drop_off", "captured_reading", "print_job", "audit_entry"} <= tables
    if os.name == "posix":
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
