"""Alembic environment of the loanwatch output store.

:meth:`alerts.store.Store.create_schema` runs it with an open connection in
``config.attributes["connection"]``; otherwise it connects to the
``sqlalchemy.url`` main option (see :func:`alerts.store.alembic_config`), or
writes SQL in offline mode. Importing this module outside Alembic does nothing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text

from alerts.store import Base

MIGRATION_LOCK = 0x6C6F616E77617463  # "loanwatc": the advisory lock key of these migrations


def run_offline() -> None:
    """Write the migration SQL for ``sqlalchemy.url`` without connecting."""
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    """Run the migrations on an open connection.

    On PostgreSQL a transaction-scoped advisory lock makes workers that start together
    migrate one after the other: the later ones find the schema at head and do nothing.
    """
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the given connection, or connect to ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        run_on(connection)
        connection.commit()
    engine.dispose()


if getattr(context, "config", None) is not None:  # absent when imported outside Alembic (e.g. doctest collection)
    if context.is_offline_mode():
        run_offline()
    else:
        run_online()
