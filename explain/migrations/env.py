"""Alembic environment for the audit store.

:meth:`explain.audit._store.AuditStore.migrate` runs ``upgrade head`` programmatically and hands its own
connection (already inside a locked transaction) through ``config.attributes["connection"]``. Run by hand,
``alembic -x url=sqlite:///var/explain.db upgrade head`` works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from explain.audit._tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=context.get_x_argument(as_dictionary=True)["url"], target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(context.get_x_argument(as_dictionary=True)["url"])
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()
        return
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
