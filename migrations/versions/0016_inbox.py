"""the durable inbox of received updates, and secrets generated at run time

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("chat_key", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_updates")),
        sa.UniqueConstraint("update_id", name=op.f("uq_inbox_updates_update_id")),
    )
    op.create_index(
        "ix_inbox_updates_status_update", "inbox_updates", ["status", "update_id"], unique=False
    )
    op.create_index(
        "ix_inbox_updates_chat_status", "inbox_updates", ["chat_key", "status"], unique=False
    )
    op.create_index("ix_inbox_updates_done_at", "inbox_updates", ["done_at"], unique=False)
    op.create_table(
        "runtime_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_runtime_secrets")),
    )


def downgrade() -> None:
    op.drop_table("runtime_secrets")
    op.drop_index("ix_inbox_updates_done_at", table_name="inbox_updates")
    op.drop_index("ix_inbox_updates_chat_status", table_name="inbox_updates")
    op.drop_index("ix_inbox_updates_status_update", table_name="inbox_updates")
    op.drop_table("inbox_updates")
