"""Drop `runs.role`: every run was `selected`; the `search` role was never written.

A grid run is scored on dev and test alike, and the board's selection rule (not a stored role) decides
which test score is reported, so the column only widened the runs' unique key. SQLite cannot drop a
column that a constraint names, hence batch mode (it copies the table).

Revision ID: 0006_drop_run_role
Revises: 0005_unit_stats_and_baselines
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_drop_run_role"
down_revision: str | None = "0005_unit_stats_and_baselines"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_WITHOUT_ROLE = [
    "submission_id",
    "checkpoint_sha256",
    "task",
    "variant",
    "spec_hash",
    "data_fingerprint_hash",
    "hparams_hash",
    "seed",
]


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_key", type_="unique")
        batch.drop_constraint(op.f("ck_runs_role"), type_="check")
        batch.drop_column("role")
        batch.create_unique_constraint("uq_runs_key", KEY_WITHOUT_ROLE)


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("uq_runs_key", type_="unique")
        batch.add_column(sa.Column("role", sa.String(length=20), nullable=False, server_default="selected"))
        batch.create_check_constraint(op.f("ck_runs_role"), "role IN ('search', 'selected')")
        batch.create_unique_constraint("uq_runs_key", [*KEY_WITHOUT_ROLE, "role"])
