"""cached Accounts by e-mail

Matching an order's customer by e-mail queried the whole Account cache in memory; the indexed column
lets the flows ask the database instead, so memory no longer grows with the number of Accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CACHED = sa.table(
    "cached_records",
    sa.column("id", sa.Integer()),
    sa.column("entity", sa.String()),
    sa.column("data", sa.JSON()),
    sa.column("email", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("cached_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.create_index("ix_cached_email", ["connection_id", "entity", "email"], unique=False)
    connection = op.get_bind()
    rows = connection.execute(sa.select(_CACHED.c.id, _CACHED.c.data).where(_CACHED.c.entity == "Accounts"))
    for row_id, data in rows.all():
        email = str((data or {}).get("Email") or "").strip().lower()[:254]
        if email:
            connection.execute(sa.update(_CACHED).where(_CACHED.c.id == row_id).values(email=email))


def downgrade() -> None:
    with op.batch_alter_table("cached_records", schema=None) as batch_op:
        batch_op.drop_index("ix_cached_email")
        batch_op.drop_column("email")
