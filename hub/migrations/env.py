"""Alembic environment: runs migrations on the URL hub.db.migrate() passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from hub.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "hub.db.migrate() sets sqlalchemy.url"


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
