"""Run claims with a lease: `runs.owner`, `runs.heartbeat_at`, `runs.lease_expires_at`.

A `running` run belongs to the process named in `owner` while its lease holds; that process renews the
lease (its heartbeat). Staleness is decided by the lease alone, not by host and pid, so a run left by a
process killed in a container or on another machine is reclaimed once the lease has expired. Rows written
before this migration have no lease and count as expired.

Revision ID: 0003_run_leases
Revises: 0002_submission_display_name
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_run_leases"
down_revision: str | None = "0002_submission_display_name"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
