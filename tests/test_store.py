"""The results store, run against SQLite and a real PostgreSQL server (skipped when not installed)."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

from glues_bench.errors import StoreError, UnknownName
from glues_bench.store import RunKey, Store, open_store, resolve_url
from glues_bench.store import store as store_module
from glues_bench.store.engine import DEFAULT_DB_URL, current_revision, head_revision
from glues_bench.store.models import Base, MetricValue, PredictionArtifact
from glues_bench.tasks import get_task

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SHA = "a" * 64


# -- a throw-away PostgreSQL server ------------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout
        candidates.append(Path(out.strip()))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    candidates.append(Path("/usr/local/bin"))
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server in a temp dir on a free port; yields its base URL (no database)."""
    pytest.importorskip("psycopg", reason="psycopg (PostgreSQL driver) not installed")
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found")
    prefix: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="glues-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: run the server as the `postgres` system user
        runuser = shutil.which("runuser")
        try:
            import pwd

            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            pg_user = None
        if runuser is None or pg_user is None:
            shutil.rmtree(workdir)
            pytest.skip("running as root without a `postgres` user (or runuser) to start PostgreSQL")
        os.chown(workdir, pg_user.pw_uid, pg_user.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    data, port = workdir / "data", _free_port()
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "30",
             "-l", str(workdir / "server.log"), "start"],
            check=True, capture_output=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        log = (workdir / "server.log").read_text() if (workdir / "server.log").exists() else ""
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')}{log}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)


_database_counter = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'results.db'}"
        return
    base = request.getfixturevalue("postgres_server")
    name = f"glues_test_{next(_database_counter)}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        opened.upsert_submission("tiny", origin="in-house", family="ALBETO", checkpoint_sha256=SHA, now=T0)
        yield opened


def key(seed: int = 1, task: str = "ner", **overrides) -> RunKey:
    resolved = get_task(task).resolve()
    fields = {
        "submission": "tiny",
        "checkpoint_sha256": SHA,
        "task": task,
        "variant": resolved.variant,
        "spec_hash": resolved.spec_hash,
        "data_fingerprint": {"train": "1" * 64, "dev": "2" * 64, "test": "3" * 64},
        "hparams": {"batch_size": 16, "learning_rate": 5e-5, "epochs": 1},
        "seed": seed,
    }
    fields.update(overrides)
    return RunKey(**fields)


def count(store: Store, model: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# -- schema ------------------------------------------------------------------------------------------


def test_opening_an_empty_database_migrates_it_to_head(db_url: str):
    with open_store(db_url) as opened:
        assert current_revision(opened.engine) == head_revision()
        tables = set(inspect(opened.engine).get_table_names())
        assert {"submissions", "runs", "metrics", "predictions", "reported_results"} <= tables
        # The migrations build exactly the schema the models declare.
        with opened.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    with open_store(db_url) as reopened:  # a second open is a no-op
        assert current_revision(reopened.engine) == head_revision()


def test_an_up_to_date_database_opens_without_importing_alembic(tmp_path: Path):
    """The fast path reads alembic_version and compares it with the newest numbered migration file; that
    file must be Alembic's head, and a database at head is opened without Alembic (its imports cost
    every command ~0.3 s)."""
    from glues_bench.store.engine import newest_migration

    assert newest_migration() == head_revision()
    url = f"sqlite:///{tmp_path / 'up.db'}"
    open_store(url).close()  # migrates (Alembic)
    code = (
        "import sys; from glues_bench.store import open_store; s = open_store(sys.argv[1]); s.close(); "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    with open_store(url) as store:  # and it is still a working store
        assert store.snapshot().runs == ()


def test_url_resolution(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("GLUES_BENCH_DB", raising=False)
    assert resolve_url(None) == DEFAULT_DB_URL == "sqlite:///results/glues_bench.db"
    monkeypatch.setenv("GLUES_BENCH_DB", "postgresql://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    with pytest.raises(StoreError, match=r"not a database URL; for a SQLite file write sqlite:///runs/x\.db"):
        resolve_url("runs/x.db")  # a bare path (or a typo) is refused, not turned into a SQLite file


def test_env_var_selects_the_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    path = tmp_path / "from_env.db"
    monkeypatch.setenv("GLUES_BENCH_DB", f"sqlite:///{path}")
    with open_store() as opened:
        opened.upsert_submission("x", origin="external")
    assert path.exists()


def test_sqlite_uses_wal_and_enforces_foreign_keys(tmp_path: Path):
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as opened:
        with opened.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        with pytest.raises(StoreError, match="refused"), opened.session() as session:
            session.add(MetricValue(run_id=999, split="dev", name="f1", value=1.0))


def test_bad_url_is_a_store_error():
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        open_store("::nonsense://")


# -- submissions --------------------------------------------------------------------------------------


def test_upsert_submission_updates_in_place_and_refuses_an_origin_change(store: Store):
    first = store.upsert_submission("tiny", origin="in-house", checkpoint_sha256=SHA, params_total=5_000_000)
    assert first == store.get_submission("tiny").id
    assert store.get_submission("tiny").params_total == 5_000_000
    assert store.get_submission("tiny").family is None  # every field is set as given
    with pytest.raises(StoreError, match="origin 'in-house'"):
        store.upsert_submission("tiny", origin="reported")
    with pytest.raises(StoreError, match="positive"):
        store.upsert_submission("bad", origin="external", params_total=0)
    with pytest.raises(UnknownName, match="tiny"):
        store.get_submission("tinny")


# -- runs ---------------------------------------------------------------------------------------------


def test_run_lifecycle_records_metrics_predictions_and_provenance(store: Store, tmp_path: Path):
    predictions = tmp_path / "test_predictions.json"
    predictions.write_text('{"0": ["O"]}', encoding="utf-8")
    assert store.find_run(key()) is None
    run_id = store.start_run(
        key(), spec_version=1, library_versions={"torch": "2.13"}, device="cpu", started_at=T0
    )
    assert store.find_run(key()).status == "running"
    store.finish_run(
        run_id,
        {"dev": {"f1": 81.5, "precision": 80.0}, "test": {"f1": 79.25}},
        {"test": predictions},
        durations={"train_s": 10.0},
        finished_at=T0 + timedelta(seconds=42),
    )
    done = store.find_run(key())
    assert done is not None and done.id == run_id and done.status == "done"
    assert done.metrics == {"dev": {"f1": 81.5, "precision": 80.0}, "test": {"f1": 79.25}}
    assert done.duration_s == 42.0
    assert done.started_at == T0
    assert done.library_versions == {"torch": "2.13"}
    assert done.host == socket.gethostname() and done.pid == os.getpid()
    (artefact,) = done.predictions
    assert artefact.sha256 == hashlib.sha256(b'{"0": ["O"]}').hexdigest()
    assert artefact.path == str(predictions.resolve())
    # The same key again is a rerun: refused. Another seed is a new run.
    with pytest.raises(StoreError, match=r"already done .*redo=True"):
        store.start_run(key(), spec_version=1)
    assert store.start_run(key(seed=2), spec_version=1) != run_id
    assert store.find_run(key(hparams={"batch_size": 32, "learning_rate": 5e-5, "epochs": 1})) is None


def test_a_failed_run_is_restarted_in_place(store: Store):
    run_id = store.start_run(key(), spec_version=1)
    with pytest.raises(StoreError, match="already running"):
        store.start_run(key(), spec_version=1)
    store.fail_run(run_id, "CUDA out of memory")
    failed = store.get_run(run_id)
    assert (failed.status, failed.error) == ("failed", "CUDA out of memory")
    assert store.start_run(key(), spec_version=1) == run_id
    again = store.get_run(run_id)
    assert (again.status, again.error, again.attempt) == ("running", None, 2)
    store.finish_run(run_id, {"dev": {"f1": 1.0}})
    with pytest.raises(StoreError, match="is done, not running"):
        store.fail_run(run_id, "late error")
    with pytest.raises(StoreError, match="no run with id"):
        store.fail_run(123456, "x")


def test_finish_run_is_one_transaction(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    predictions = tmp_path / "dev.json"
    predictions.write_text("{}", encoding="utf-8")
    run_id = store.start_run(key(), spec_version=1)

    def explode(**_kwargs):
        raise RuntimeError("disk full while recording artefacts")

    # The metrics are flushed to the database before the artefacts are added; then it fails.
    monkeypatch.setattr(store_module, "PredictionArtifact", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        store.finish_run(run_id, {"dev": {"f1": 80.0}}, {"dev": predictions})
    assert count(store, MetricValue) == 0
    assert store.get_run(run_id).status == "running"
    monkeypatch.undo()
    store.finish_run(run_id, {"dev": {"f1": 80.0}}, {"dev": predictions})
    assert count(store, MetricValue) == 1 and count(store, PredictionArtifact) == 1


def test_redo_restarts_a_done_run_and_drops_its_old_results(store: Store, tmp_path: Path):
    predictions = tmp_path / "dev.json"
    predictions.write_text("[]", encoding="utf-8")
    run_id = store.start_run(key(), spec_version=1)
    store.finish_run(run_id, {"dev": {"f1": 80.0}}, {"dev": predictions})
    assert store.start_run(key(), spec_version=1, redo=True) == run_id
    assert count(store, MetricValue) == 0 and count(store, PredictionArtifact) == 0
    assert store.get_run(run_id).attempt == 2


def test_predictions_given_with_their_sha256_are_checked(store: Store, tmp_path: Path):
    predictions = tmp_path / "test.json"
    predictions.write_text("{}", encoding="utf-8")
    digest = hashlib.sha256(b"{}").hexdigest()
    run_id = store.start_run(key(), spec_version=1)
    with pytest.raises(StoreError, match="has sha256"):
        store.finish_run(run_id, {"test": {"f1": 1.0}}, {"test": (str(predictions), "0" * 64)})
    # `score` may be stored alongside the metrics (the leaderboard recomputes it).
    store.finish_run(run_id, {"test": {"f1": 1.0, "score": 1.0}}, {"test": (str(predictions), digest)})
    assert store.get_run(run_id).predictions[0].sha256 == digest


def test_runs_of_a_task_feed_the_leaderboards_selection(store: Store):
    """The store only reads rows (`Store.runs`); the board's one rule selects from them."""
    from glues_bench.board import hparams_key, selected_result

    small = {"batch_size": 16, "learning_rate": 5e-5, "epochs": 1}
    large = {"batch_size": 16, "learning_rate": 1e-5, "epochs": 1}
    for hparams, seed, dev, test in [(small, 1, 80.0, 70.0), (small, 2, 82.0, 72.0), (large, 1, 79.0, 95.0)]:
        run_id = store.start_run(key(seed=seed, hparams=hparams), spec_version=1)
        store.finish_run(run_id, {"dev": {"f1": dev}, "test": {"f1": test}})
    store.start_run(key(seed=3, hparams=large), spec_version=1)  # still running: listed, never counted
    runs = store.runs("tiny", "ner")
    assert [(r.seed, r.status) for r in runs] == [(1, "done"), (2, "done"), (1, "done"), (3, "running")]
    assert store.runs("tiny", "pos") == [] and store.runs("nobody", "ner") == []
    best = selected_result(runs, store.get_submission("tiny"), get_task("ner").resolve())
    assert (
        best is not None and dict(best.hparams) == small and hparams_key(best.hparams) == "bs16-lr5e-05-ep1"
    )
    assert (best.dev_score, best.score, best.n_seeds) == (81.0, 71.0, 2)
    assert best.sd == pytest.approx(2**0.5)  # sample sd of 70 and 72


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"dev": {"f1": float("nan")}}, "not a finite number"),
        ({"train": {"f1": 1.0}}, "split 'train'"),
        ({"dev": {"exact": 1.0}}, "not one of"),
    ],
)
def test_finish_run_rejects_bad_metrics_and_writes_nothing(store: Store, metrics, message):
    run_id = store.start_run(key(), spec_version=1)
    with pytest.raises(StoreError, match=message):
        store.finish_run(run_id, metrics)
    assert count(store, MetricValue) == 0
    assert store.get_run(run_id).status == "running"


def test_finish_run_needs_the_predictions_file(store: Store, tmp_path: Path):
    run_id = store.start_run(key(), spec_version=1)
    with pytest.raises(StoreError, match="does not exist"):
        store.finish_run(run_id, {"dev": {"f1": 1.0}}, {"dev": tmp_path / "missing.json"})
    assert count(store, MetricValue) == 0


def test_start_run_checks_its_key(store: Store):
    with pytest.raises(UnknownName, match="submission"):
        store.start_run(key(submission="ghost"), spec_version=1)
    with pytest.raises(UnknownName, match="variant"):
        store.start_run(key(variant="nope"), spec_version=1)
    with pytest.raises(StoreError, match="canonical"):
        store.start_run(key(task="conll2002"), spec_version=1)
    with pytest.raises(StoreError, match="sha256"):
        store.start_run(key(checkpoint_sha256=""), spec_version=1)


# -- reported results ---------------------------------------------------------------------------------

REPORTED = """
source: {{citation: "Someone et al. 2030"}}
source_refs: {{pos: Table 3}}
models:
  - name: Paper model
    family: ALBETO
    params: 12M
    results:
      pos: {{f1: {pos}}}
      mlqa: {{f1: 66.12{em}}}
"""


def test_import_reported_is_idempotent_and_follows_edits(store: Store, tmp_path: Path):
    path = tmp_path / "reported.yaml"
    path.write_text(REPORTED.format(pos="98.08", em=", exact_match: 41.10"), encoding="utf-8")
    first = store.import_reported(path, now=T0)
    assert (first.models, first.added, first.unchanged) == (1, 3, 0)
    second = store.import_reported(path, now=T0 + timedelta(days=1))
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 3)
    snapshot = store.snapshot()
    assert {r.imported_at for r in snapshot.reported} == {T0}  # untouched by the no-op import
    paper = store.get_submission("Paper model")
    assert (paper.origin, paper.params_total, paper.params_as_printed) == ("reported", 12_000_000, "12M")
    path.write_text(REPORTED.format(pos="98.10", em=""), encoding="utf-8")
    third = store.import_reported(path, now=T0 + timedelta(days=2))
    assert (third.added, third.updated, third.removed, third.unchanged) == (0, 1, 1, 1)
    values = {(r.task, r.metric): (r.value, r.source_ref) for r in store.snapshot().reported}
    assert values == {("pos", "f1"): (98.10, "Table 3"), ("mlqa", "f1"): (66.12, None)}


def test_import_reported_refuses_bad_files(store: Store, tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(REPORTED.format(pos="198.0", em=""), encoding="utf-8")
    with pytest.raises(StoreError, match="not a percentage"):
        store.import_reported(path)
    path.write_text(REPORTED.format(pos="98.0", em=", exact: 1.0"), encoding="utf-8")
    with pytest.raises(StoreError, match="metric 'exact'"):
        store.import_reported(path)
    path.write_text(REPORTED.replace("name: Paper model", "name: tiny").format(pos="98.0", em=""))
    with pytest.raises(StoreError, match="origin 'in-house'"):
        store.import_reported(path)
    assert store.snapshot().reported == ()
