"""``counter`` without a command: the counter itself.

The only module outside ``counter_app.ui`` that imports it: the screen is started here,
after the data directory is made and the station is locked, so a second counter for
the same station stops with a plain message before anything is drawn.
"""

from __future__ import annotations

import argparse

from counter_app.cli.context import CliContext


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """Start the counter with the configuration (demo mode without one)."""
    from counter_app.services.station_lock import hold_for_counter
    from db.files import make_private_dir

    config = ctx.config
    # The data directory holds the records, labels and crash reports: owner-only.
    make_private_dir(config.data_dir())
    # One counter per station per database: a second one stops here, with a message
    # naming the one that runs, before the screen or the database is touched.
    lock = hold_for_counter(config, ctx.err)
    if lock is None:
        return 2
    from counter_app.ui.app import run_counter

    with lock:
        return run_counter(config)
