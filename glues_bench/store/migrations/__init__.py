"""Alembic migrations for the results store; `glues_bench.store.open_store` runs them on open."""
