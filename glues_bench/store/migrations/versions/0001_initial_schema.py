"""Initial schema: submissions, runs, metrics, predictions, reported_results.

Datetimes are stored as naive UTC (`models.UTCDateTime` adds the zone back on read).

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-11-29 05:18:49.921943
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("checkpoint_path", sa.Text(), nullable=True),
        sa.Column("hub_id", sa.String(length=200), nullable=True),
        sa.Column("hub_revision", sa.String(length=100), nullable=True),
        sa.Column("checkpoint_sha256", sa.String(length=64), nullable=True),
        sa.Column("params_total", sa.BigInteger(), nullable=True),
        sa.Column("params_non_embedding", sa.BigInteger(), nullable=True),
        sa.Column("params_as_printed", sa.String(length=40), nullable=True),
        sa.Column("manifest", sa.JSON(), nullable=True),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "origin IN ('in-house', 'external', 'reported')", name=op.f("ck_submissions_origin")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("name", name=op.f("uq_submissions_name")),
    )
    op.create_table(
        "reported_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=40), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=True),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_reported_results_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reported_results")),
        sa.UniqueConstraint("submission_id", "task", "metric", "source", name="uq_reported_key"),
    )
    op.create_index(
        op.f("ix_reported_results_submission_id"), "reported_results", ["submission_id"], unique=False
    )

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_sha256", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=40), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("spec_version", sa.Integer(), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("data_fingerprint", sa.JSON(), nullable=False),
        sa.Column("data_fingerprint_hash", sa.String(length=64), nullable=False),
        sa.Column("hparams", sa.JSON(), nullable=False),
        sa.Column("hparams_hash", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("durations", sa.JSON(), nullable=True),
        sa.Column("library_versions", sa.JSON(), nullable=True),
        sa.Column("harness_version", sa.String(length=40), nullable=True),
        sa.Column("harness_git_sha", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("selection_rule", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.CheckConstraint("role IN ('search', 'selected')", name=op.f("ck_runs_role")),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f("ck_runs_status")),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_runs_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint(
            "submission_id",
            "checkpoint_sha256",
            "task",
            "variant",
            "spec_hash",
            "data_fingerprint_hash",
            "hparams_hash",
            "seed",
            "role",
            name="uq_runs_key",
        ),
    )
    op.create_index(op.f("ix_runs_submission_id"), "runs", ["submission_id"], unique=False)

    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.CheckConstraint("split IN ('dev', 'test')", name=op.f("ck_metrics_split")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_metrics_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics")),
        sa.UniqueConstraint("run_id", "split", "name", name="uq_metrics_run_split_name"),
    )
    op.create_index(op.f("ix_metrics_run_id"), "metrics", ["run_id"], unique=False)

    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint("split IN ('dev', 'test')", name=op.f("ck_predictions_split")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_predictions_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        sa.UniqueConstraint("run_id", "split", name="uq_predictions_run_split"),
    )
    op.create_index(op.f("ix_predictions_run_id"), "predictions", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_predictions_run_id"), table_name="predictions")

    op.drop_table("predictions")
    op.drop_index(op.f("ix_metrics_run_id"), table_name="metrics")

    op.drop_table("metrics")
    op.drop_index(op.f("ix_runs_submission_id"), table_name="runs")

    op.drop_table("runs")
    op.drop_index(op.f("ix_reported_results_submission_id"), table_name="reported_results")

    op.drop_table("reported_results")
    op.drop_table("submissions")
