"""Model profiles: measured speed and memory of a checkpoint on one device (`glues-bench profile`).

Revision ID: 0004_model_profiles
Revises: 0003_run_leases
Create Date: 2026-12-01 22:10:00

The table depends on no earlier change but 0001; it follows 0003 only to keep the history linear.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_model_profiles"
down_revision: str | None = "0003_run_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_sha256", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=200), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("device_kind", sa.String(length=20), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=False),
        sa.Column("memory_kind", sa.String(length=30), nullable=False),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("weights_bytes", sa.BigInteger(), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("library_versions", sa.JSON(), nullable=False),
        sa.Column("harness_version", sa.String(length=40), nullable=True),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "memory_kind IN ('rss', 'cuda_max_allocated')", name=op.f("ck_model_profiles_memory_kind")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_model_profiles_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_profiles")),
        sa.UniqueConstraint("checkpoint_sha256", "device", name="uq_model_profiles_key"),
    )
    op.create_index(
        op.f("ix_model_profiles_submission_id"), "model_profiles", ["submission_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_model_profiles_submission_id"), table_name="model_profiles")
    op.drop_table("model_profiles")
