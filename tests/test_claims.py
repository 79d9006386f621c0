"""Run claims with a lease (issue 12 item 2, issue 13 item 1) and the submission upsert race (issue 13
item 8), on SQLite and a real PostgreSQL server (skipped when not installed)."""
# ruff: noqa: F811  (the store fixtures are imported from test_store and used as arguments)

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text, update

from glues_bench.store import Store, open_store
from glues_bench.store.engine import alembic_config, head_revision
from glues_bench.store.models import Run
from glues_bench.store.store import ClaimLost, lease_is_live, process_owner
from tests.test_store import T0, db_url, key, postgres_server, store  # noqa: F401  (fixtures)


def _expire(store: Store, run_id: int, host: str | None = None) -> None:
    """Make a run look like its process stopped renewing a while ago (optionally on another host)."""
    with store.session() as session:
        values = {"lease_expires_at": T0, "heartbeat_at": T0 - timedelta(seconds=60)}
        if host is not None:
            values["host"] = host
        session.execute(update(Run).where(Run.id == run_id).values(**values))


def test_a_live_claim_is_busy_for_everyone_and_an_expired_one_is_reclaimed(store: Store):
    first = store.claim_run(key(), spec_version=1, owner="node-a:1:x", lease_seconds=60)
    assert first.state == "claimed"
    # A second process (or this one again) finds it busy: not an error, nothing changes.
    again = store.claim_run(key(), spec_version=1, owner="node-b:7:y", lease_seconds=60)
    assert (again.state, again.run_id, again.owner) == ("busy", first.run_id, "node-a:1:x")
    assert store.get_run(first.run_id).attempt == 1
    # Its process died (here: on another machine, which host+pid can never check); once the lease has
    # expired the key is reclaimed, attempt + 1, and the new row says whose claim it replaced.
    _expire(store, first.run_id, host="node-a")
    taken = store.claim_run(key(), spec_version=1, owner="node-b:7:y", lease_seconds=60)
    assert (taken.state, taken.run_id) == ("claimed", first.run_id)
    run = store.get_run(first.run_id)
    assert (run.owner, run.attempt, run.status) == ("node-b:7:y", 2, "running")
    assert run.details["reclaimed_from"] == "node-a:1:x"
    # The old owner may not record a result any more; the new one may.
    with pytest.raises(ClaimLost, match="node-b:7:y"):
        store.finish_run(first.run_id, {"dev": {"f1": 1.0}}, owner="node-a:1:x")
    store.finish_run(first.run_id, {"dev": {"f1": 1.0}}, owner="node-b:7:y")
    assert store.claim_run(key(), spec_version=1, owner="node-c:1:z").state == "done"
    assert store.claim_run(key(), spec_version=1, owner="node-c:1:z", redo=True).state == "claimed"


def test_the_heartbeat_keeps_a_claim_alive_and_only_the_owners(store: Store):
    mine = store.claim_run(key(seed=1), spec_version=1, owner="me", lease_seconds=5).run_id
    theirs = store.claim_run(key(seed=2), spec_version=1, owner="them", lease_seconds=5).run_id
    _expire(store, mine)
    _expire(store, theirs)
    assert store.renew_leases("me", 60) == 1
    assert lease_is_live(store.get_run(mine)) and not lease_is_live(store.get_run(theirs))
    assert store.claim_run(key(seed=1), spec_version=1, owner="other").state == "busy"
    assert store.claim_run(key(seed=2), spec_version=1, owner="other").state == "claimed"


def test_release_frees_expired_runs_and_live_ones_only_when_forced(store: Store):
    live = store.start_run(key(seed=1), spec_version=1)
    dead = store.start_run(key(seed=2), spec_version=1)
    _expire(store, dead)
    assert [r.id for r in store.running_runs()] == [live, dead]
    assert store.release_runs() == [dead]
    released = store.get_run(dead)
    assert released.status == "failed" and "stopped before the run finished" in released.error
    assert store.get_run(live).status == "running"
    assert store.release_runs([live]) == []
    assert store.release_runs([live], include_live=True) == [live]
    assert store.start_run(key(seed=2), spec_version=1) == dead  # redone in place


def test_concurrent_claims_of_one_key_give_it_to_exactly_one(db_url: str):
    with open_store(db_url) as opened:
        opened.upsert_submission("tiny", origin="in-house", checkpoint_sha256="a" * 64)
    results: list[str] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        with open_store(db_url) as mine:  # one engine each, as separate processes would have
            barrier.wait()
            results.append(mine.claim_run(key(), spec_version=1, owner=f"p{i}").state)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["busy"] * 7 + ["claimed"]


def test_concurrent_upserts_of_one_new_submission_all_succeed(db_url: str):
    open_store(db_url).close()  # migrate once, so the race is the upsert's own
    errors: list[BaseException] = []
    ids: list[int] = []
    barrier = threading.Barrier(16)

    def upsert() -> None:
        with open_store(db_url) as mine:
            try:
                barrier.wait()  # all at once: the first insert of the name races 15 others
                for _ in range(8):  # 16 × 8 = 128 upserts of one new name
                    ids.append(mine.upsert_submission("fresh", origin="external", checkpoint_sha256="b" * 64))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=upsert) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(ids) == 128 and len(set(ids)) == 1


def _old_schema_with_a_submission(connection, config, revision: str) -> None:
    """The schema as of `revision` (Alembic on this connection) holding submission 1, "tiny"."""
    from alembic import command

    config.attributes["connection"] = connection
    command.upgrade(config, revision)
    connection.execute(text(
        "INSERT INTO submissions (id, name, origin, checkpoint_sha256, created_at, updated_at) "
        "VALUES (1, 'tiny', 'in-house', :sha, '2024-05-01 12:00:00', '2024-05-01 12:00:00')"
    ), {"sha": "a" * 64})  # fmt: skip


def test_runs_from_before_leases_count_as_expired_after_the_migration(tmp_path):

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        _old_schema_with_a_submission(connection, config, "0001_initial_schema")
    engine.dispose()
    with open_store(url) as migrated:
        assert head_revision() != "0001_initial_schema"
        run_id = migrated.start_run(key(), spec_version=1)
        with migrated.session() as session:  # what a pre-0002 row looks like: no owner, no lease
            session.execute(update(Run).values(owner=None, lease_expires_at=None, heartbeat_at=None))
        assert not lease_is_live(migrated.get_run(run_id))
        assert migrated.claim_run(key(), spec_version=1).state == "claimed"
        assert migrated.get_run(run_id).owner == process_owner()


def test_dropping_the_run_role_keeps_runs_and_their_children(db_url: str):
    """Migration 0006 through `open_store`, on each backend: a run stored at 0005 (with its `role`) keeps
    its metrics, predictions and unit statistics (SQLite's batch mode copies and drops `runs`, which with
    foreign keys on would cascade-delete them), a second row with the same key is still refused, and the
    downgrade puts `role` back."""
    from alembic import command
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(db_url)
    config = alembic_config()
    insert_run = (
        "INSERT INTO runs (id, submission_id, checkpoint_sha256, task, variant, spec_version, spec_hash, "
        "data_fingerprint, data_fingerprint_hash, hparams, hparams_hash, seed, {role}status, attempt, "
        "started_at) VALUES (:id, 1, :sha, 'ner', 'default', 1, 's', '{{}}', 'd', '{{}}', 'h', 1, {value}"
        "'done', 1, '2024-05-01 12:00:00')"
    )
    children = {"metrics": 1, "predictions": 1, "unit_stats": 1}
    with engine.begin() as connection:
        _old_schema_with_a_submission(connection, config, "0005_unit_stats_and_baselines")
        old_run = text(insert_run.format(role="role, ", value="'selected', "))
        connection.execute(old_run, {"id": 7, "sha": "a" * 64})
        metric = "INSERT INTO metrics (run_id, split, name, value) VALUES (7, 'test', 'f1', 81.5)"
        connection.execute(text(metric))
        connection.execute(text(
            "INSERT INTO predictions (run_id, split, path, sha256) VALUES (7, 'test', 'p.json', :sha)"
        ), {"sha": "b" * 64})  # fmt: skip
        connection.execute(text(
            "INSERT INTO unit_stats (run_id, split, kind, n_units, data, sha256) "
            "VALUES (7, 'test', 'accuracy', 1, :data, :sha)"
        ), {"data": b"\x00" * 8, "sha": "c" * 64})  # fmt: skip
    engine.dispose()
    with open_store(db_url):  # migrates to head the way every command does
        pass
    assert "role" not in {column["name"] for column in inspect(engine).get_columns("runs")}
    with engine.connect() as connection:
        counts = {t: connection.execute(text(f"SELECT count(*) FROM {t} WHERE run_id = 7")).scalar_one()
                  for t in children}  # fmt: skip
        assert counts == children
        assert connection.execute(text("SELECT value FROM metrics WHERE run_id = 7")).scalar_one() == 81.5
    with pytest.raises(IntegrityError), engine.begin() as connection:  # the same key, less the role
        connection.execute(text(insert_run.format(role="", value="")), {"id": 8, "sha": "a" * 64})
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_unit_stats_and_baselines")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT role FROM runs WHERE id = 7")).scalar_one() == "selected"
    engine.dispose()
