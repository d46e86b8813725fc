"""Initial schema: alerts, collection_tasks, limit_changes, dead_letters.

Revision ID: 0001
Revises:
Create Date: 2026-03-01

Money is NUMERIC(18, 2), stored as integer cents on SQLite (see ``alerts.store.Money``);
reasons are JSON (JSONB on PostgreSQL). Timestamps are kept as the RFC 3339 text the
records carry, offset included.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(18, 2).with_variant(sa.BigInteger(), "sqlite")
REASONS = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(128), primary_key=True),
        sa.Column("borrower_id", sa.String(128), nullable=False),
        sa.Column("loan_id", sa.String(128), nullable=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", REASONS, nullable=False),
        sa.Column("risk_score", sa.Float(), nullable=False),
        sa.Column("risk_class", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("inhibited_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_alerts_borrower_id", "alerts", ["borrower_id"])
    op.create_index("ix_alerts_status_severity", "alerts", ["status", "severity"])

    op.create_table(
        "collection_tasks",
        sa.Column("task_id", sa.String(128), primary_key=True),
        sa.Column("loan_id", sa.String(128), nullable=False),
        sa.Column("borrower_id", sa.String(128), nullable=False),
        sa.Column("installment_seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("amount_overdue", MONEY, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_by", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_collection_tasks_borrower_id", "collection_tasks", ["borrower_id"])
    op.create_index("ix_collection_tasks_feed", "collection_tasks", ["status", "queue", "priority"])

    op.create_table(
        "limit_changes",
        sa.Column("change_id", sa.String(128), primary_key=True),
        sa.Column("borrower_id", sa.String(128), nullable=False),
        sa.Column("loan_id", sa.String(128), nullable=False),
        sa.Column("old_limit", MONEY, nullable=False),
        sa.Column("new_limit", MONEY, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reasons", REASONS, nullable=False),
        sa.Column("effective_at", sa.String(40), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
    )
    op.create_index("ix_limit_changes_borrower_id", "limit_changes", ["borrower_id"])
    op.create_index("ix_limit_changes_status", "limit_changes", ["status"])

    op.create_table(
        "dead_letters",
        sa.Column("dead_letter_id", sa.String(128), primary_key=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_encoding", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])


def downgrade() -> None:
    for table in ("dead_letters", "limit_changes", "collection_tasks", "alerts"):
        op.drop_table(table)
