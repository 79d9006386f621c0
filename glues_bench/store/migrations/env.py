"""Alembic environment: runs on the connection `glues_bench.store` hands over (no alembic.ini needed).

For a new migration during development:
    python -m glues_bench.store.new_migration "what changed"
"""

from __future__ import annotations

from alembic import context

from glues_bench.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("glues_bench migrations run through glues_bench.store, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    # Our SQLite connections really BEGIN (see store.engine), so DDL is transactional on both backends.
    transactional_ddl=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
