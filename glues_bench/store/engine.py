"""Engines and schema migrations: one place that knows about SQLite pragmas, URLs and Alembic."""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from glues_bench.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DB_PATH = Path("leaderboard") / "glues_bench.db"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"
"""Relative to the working directory, like every other path the CLI takes (see `resolve_url`)."""

DB_ENV_VAR = "GLUES_BENCH_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""Parallel workers write to one SQLite file; a writer waits this long for the lock instead of failing."""

_BEGIN_OPTION = "glues_sqlite_begin"
_PG_MIGRATION_LOCK = 0x61C0E5  # any constant: serialises concurrent migrations on one PostgreSQL database


def resolve_url(url: str | None) -> str:
    """`--db` value → SQLAlchemy URL: None → $GLUES_BENCH_DB → `sqlite:///leaderboard/glues_bench.db`.

    A bare path (no `://`) means a SQLite file; `postgresql://` means psycopg 3 (the driver we ship).
    """
    url = url or os.environ.get(DB_ENV_VAR) or DEFAULT_DB_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str) -> Engine:
    """An engine with the settings the store relies on (SQLite: WAL, foreign keys, real transactions)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"database URL {url!r} is not a valid SQLAlchemy URL") from exc
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (ImportError, SQLAlchemyError) as exc:
            raise StoreError(f"database URL {parsed!r}: {exc}") from exc
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling skips BEGIN before DDL and cannot take the write lock up
    # front; turn it off and let `_sqlite_on_begin` emit BEGIN (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # Writers use BEGIN IMMEDIATE: they queue on busy_timeout instead of failing with "database is
    # locked" when a read transaction tries to upgrade to a write.
    connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def writer(engine: Engine) -> Engine:
    """The same engine, whose transactions take the write lock at BEGIN on SQLite."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
    return engine


def alembic_config() -> Config:
    """An Alembic config built in code, pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("glues_bench.store") / "migrations"))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError("no store migrations found in the installed package")
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


_NUMBERED_MIGRATION = re.compile(r"^\d{4}_\w+$")


def newest_migration() -> str:
    """The newest shipped migration's revision id, without importing Alembic: migrations are numbered
    files named by their revision id and form one chain (a test checks this equals Alembic's head)."""
    versions = resources.files("glues_bench.store") / "migrations" / "versions"
    stems = [Path(p.name).stem for p in versions.iterdir() if p.name.endswith(".py")]
    return max(s for s in stems if _NUMBERED_MIGRATION.match(s))


def _is_current(engine: Engine) -> bool:
    """The database is already at the newest migration (read without Alembic, which costs ~0.3 s of
    imports on every command that opens the store)."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no alembic_version table yet: a new database
        return False
    return versions == [newest_migration()]


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration, in one transaction (a no-op when up to date)."""
    if _is_current(engine):
        return
    from alembic import command

    config = alembic_config()
    try:
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not migrate the results database {engine.url!r}: {_first_line(exc)}"
        ) from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
