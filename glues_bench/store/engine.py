"""Engines and schema migrations: one place that knows about SQLite pragmas, URLs and Alembic."""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from glues_bench.errors import StoreError, first_line

if TYPE_CHECKING:
    from alembic.config import Config

DEFAULT_DB_PATH = Path("results") / "glues_bench.db"
DEFAULT_DB_URL = f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"
"""A user's own results (git-ignored), relative to the working directory like every other CLI path. The
committed board is `COMMITTED_DB_URL`, rebuilt on purpose only (`scripts/train_inhouse.sh` names it)."""

COMMITTED_DB_URL = "sqlite:///leaderboard/glues_bench.db"

DB_ENV_VAR = "GLUES_BENCH_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
"""Parallel workers write to one SQLite file; a writer waits this long for the lock instead of failing."""

_BEGIN_OPTION = "glues_sqlite_begin"
_PG_MIGRATION_LOCK = 0x61C0E5  # any constant: serialises concurrent migrations on one PostgreSQL database


def resolve_url(url: str | None) -> str:
    """`--db` value → SQLAlchemy URL: None → $GLUES_BENCH_DB → `sqlite:///results/glues_bench.db`.

    Only URLs are accepted: a bare path or a typo (`--db "not a url"`) is refused in one line instead of
    becoming a SQLite file of that name. `postgresql://` means psycopg 3 (the driver we ship).
    """
    if url is not None and not url.strip():
        raise StoreError("--db '': empty database URL (omit --db for $GLUES_BENCH_DB or the default)")
    source = "--db" if url is not None else f"${DB_ENV_VAR}"
    url = url or os.environ.get(DB_ENV_VAR) or DEFAULT_DB_URL
    if "://" not in url:
        raise StoreError(
            f"{source} {url!r}: not a database URL; for a SQLite file write sqlite:///{url} "
            "(or postgresql://user@host/db)"
        )
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str, *, create: bool = True) -> Engine:
    """An engine with the settings the store relies on (SQLite: WAL, foreign keys, real transactions).

    A SQLite file is created only with `create` (the writing commands: run, import-reported), and never
    with its folder: a missing folder is a typo more often than a wish.
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - the port is parsed lazily; a non-numeric one raises ValueError here
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"database URL {_hide_password(url)!r} is not a valid SQLAlchemy URL") from exc
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (ImportError, SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"database URL {_hide_password(url)!r}: {first_line(exc)}") from exc
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if not path.exists():
            if not create:
                raise StoreError(
                    f"no results database at {database} (create one with `glues-bench run` or "
                    f"`glues-bench import-reported`; the committed board is --db {COMMITTED_DB_URL})"
                )
            if url == DEFAULT_DB_URL:  # our own default folder, not a typo: create it
                path.parent.mkdir(parents=True, exist_ok=True)
            if not path.parent.is_dir():
                raise StoreError(f"database {url}: folder {path.parent} does not exist")
            if not os.access(path.parent, os.W_OK):
                raise StoreError(f"database {url}: folder {path.parent} is not writable")
        elif path.is_dir():
            raise StoreError(f"database {url}: {database} is a folder, not a SQLite file")
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
    from alembic.runtime.migration import MigrationContext
    from alembic.util.exc import CommandError

    config = alembic_config()
    try:
        with writer(engine).connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            # A batch migration copies a table and drops the original; with foreign keys on, that DROP
            # would cascade-delete every child row. SQLite's documented ALTER TABLE procedure turns them
            # off (only possible outside a transaction) and checks them before committing.
            if sqlite:
                _sqlite_foreign_keys(connection, on=False)
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                        )
                    revision = MigrationContext.configure(connection).get_current_revision()
                    if revision is not None and not _known_revision(config, revision):
                        raise StoreError(_newer_schema(engine, revision))
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise StoreError(f"migrating {engine.url!r} would break a foreign key; rolled back")
            finally:
                if sqlite:
                    _sqlite_foreign_keys(connection, on=True)
    except CommandError as exc:  # e.g. a revision this harness does not ship (a newer glues-bench)
        raise StoreError(f"could not migrate the results database {engine.url!r}: {first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"could not migrate the results database {engine.url!r}: {first_line(exc)}") from exc


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # On the DB-API connection, outside SQLAlchemy's transaction: the pragma is a no-op inside one.
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


def _known_revision(config: Config, revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except CommandError:
        return False


def _newer_schema(engine: Engine, revision: str) -> str:
    return (
        f"the results database {engine.url!r} has schema revision {revision}, which this glues-bench does "
        "not know: it was written by a newer harness (upgrade glues-bench to use it)"
    )


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url
