"""Alembic environment of the counter database.

The counter runs migrations itself (``db.engine.open_database``) and hands Alembic an
open connection in ``config.attributes["connection"]``. For a developer writing a new
migration, ``alembic -c db/alembic.ini revision --autogenerate -m "..."`` works too:
then the database is the file named by ``-x db=PATH`` or ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from db.engine import create_sqlite_engine
from db.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    path = context.get_x_argument(as_dictionary=True).get("db")
    if path is None:
        url = config.get_main_option("sqlalchemy.url") or ""
        path = url.removeprefix("sqlite:///")
    if not path:
        raise SystemExit("Name the database: alembic -x db=PATH ...")
    engine = create_sqlite_engine(path)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
