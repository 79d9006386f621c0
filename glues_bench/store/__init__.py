"""The results store: submissions, runs with provenance, metrics, prediction files, reported numbers.

    store = open_store()            # None → $GLUES_BENCH_DB → sqlite:///results/glues_bench.db
    store.upsert_submission("ALBETO tiny (ours)", origin="in-house", checkpoint_sha256=...)
    key = RunKey(submission=..., checkpoint_sha256=..., task="ner", variant="default", spec_hash=...,
                 data_fingerprint={"train": ..., "dev": ..., "test": ...}, hparams={...}, seed=1)
    if store.find_run(key) is None:
        run_id = store.start_run(key, spec_version=1, library_versions=..., device="cpu")
        try:
            ...                          # fine-tune, predict, score
        except Exception as exc:
            store.fail_run(run_id, traceback.format_exc()); raise
        store.finish_run(run_id, {"dev": {"f1": 80.1}, "test": {"f1": 79.5}}, {"test": "preds/test.json"})

Processes sharing one database use `claim_run` instead of `start_run`: it returns `Claim("busy")` for a
key another live process holds, and reclaims one whose lease expired; the owner keeps its claims alive
with `renew_leases(owner)` (the runner's heartbeat), and `release_runs` frees stuck ones by hand.

Any SQLAlchemy URL works (`sqlite:///file.db`, `postgresql://user@host/db`); the schema is migrated with
Alembic on open. SQLite files use WAL and enforce foreign keys.
"""

from glues_bench.store import records
from glues_bench.store.engine import DB_ENV_VAR, DEFAULT_DB_URL, resolve_url
from glues_bench.store.records import *  # noqa: F403  (the row types, listed once in records.__all__)
from glues_bench.store.store import ImportSummary, RunKey, Store, canonical_hash, hparams_hash, open_store

__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB_URL",
    "ImportSummary",
    "RunKey",
    "Store",
    "canonical_hash",
    "hparams_hash",
    "open_store",
    "resolve_url",
    *records.__all__,
]
