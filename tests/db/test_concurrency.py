"""A supervisor's export never holds up a record at the counter.

Two processes on one real SQLite file: a supervisor's process runs `counter export`
(the real command) over and over, and the counter records meanwhile, with SQLite's busy
timeout at zero: if the export ever held the write lock (as opening a database once
did, for a migration check and a scan of every reference), a record would fail at once
with "database is locked" instead of waiting. No clock is read.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from drop_offs import scale_drop_off
from sqlalchemy import event

from db.engine import open_database
from db.writes import record_drop_off

AT = datetime(2024, 5, 14, 10, 0, tzinfo=UTC)

EXPORTER = textwrap.dedent(
    """
    import select
    import sys
    from counter_app.cli.main import main

    config = sys.argv[1]
    print("exporting", flush=True)
    runs = 0
    while True:
        code = main(["--config", config, "export", "--from", "2024-01-01", "--to",
                     "2024-12-31", "--format", "csv", "--output", "/dev/null"])
        assert code == 0, code
        runs += 1
        # Go on until the counter says stop (a line on stdin), and at least 3 runs.
        if runs >= 3 and select.select([sys.stdin], [], [], 0)[0]:
            break
    print(f"runs {runs}", flush=True)
    """
)


def test_records_go_in_while_exports_run_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "counter.sqlite3"
    engine = open_database(path)
    record_drop_off(engine, scale_drop_off(1000), now=AT)
    engine.dispose()
    # Months of a busy counter for the export to read.
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000)
            INSERT INTO drop_off (id, station_id, chain_seq, label_no, label_code,
                recorded_at, classification, category_code, category_name, weight_grams,
                weight_source, operator, reason, prev_hash, content_hash)
            SELECT 'old' || i, 'MS09', i, i, 'MS09-' || i,
                strftime('%Y-%m-%dT%H:%M:%f', '2024-01-01', '+' || (i * 1200) || ' seconds')
                    || '000+00:00',
                'reuse', 'meubels', 'Meubels', 1000, 'manual', 'balie', 'bulk',
                'p' || i, 'h' || i
            FROM n;
            """
        )
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{path}"\n', encoding="utf-8")

    exporter = subprocess.Popen(
        [sys.executable, "-c", EXPORTER, str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert exporter.stdout is not None and exporter.stdin is not None
        assert exporter.stdout.readline().strip() == "exporting"
        engine = open_database(path)

        def no_waiting(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout = 0")

        event.listen(engine, "connect", no_waiting)
        engine.dispose()  # new connections get the listener
        # Record without pause, as fast as the counter can, while the exports run: every
        # record must go in at once.
        recorded = [
            record_drop_off(
                engine, scale_drop_off(2000 + i), now=AT + timedelta(seconds=i)
            ).label_code
            for i in range(200)
        ]
        # The exports were running all along: the process is still at it.
        assert exporter.poll() is None
        exporter.stdin.write("stop\n")
        exporter.stdin.flush()
        out, err = exporter.communicate(timeout=300)
        assert exporter.returncode == 0, err
        assert int(out.split()[-1]) >= 3
        assert recorded == [f"MS01-{n:06d}" for n in range(2, 202)]
        engine.dispose()
    finally:
        if exporter.poll() is None:
            exporter.kill()
            exporter.wait()
