"""Submissions get `display_name`: the manifest's name for the site (`register --display-name`).

Rows written before this revision keep NULL, which means "show `name`"; the next `run` of a model sets
it from its manifest.

Revision ID: 0002_submission_display_name
Revises: 0001_initial_schema
Create Date: 2026-12-01 21:58:19.144689
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_submission_display_name"
down_revision: str | None = "0001_initial_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("display_name")
