"""Collection tasks carry the contact policy's first allowed moment (``contact_after``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collection_tasks") as batch:
        batch.add_column(sa.Column("contact_after", sa.String(40), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("collection_tasks") as batch:
        batch.drop_column("contact_after")
