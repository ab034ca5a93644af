"""broadcasts that ask for confirmation: one row per recipient who confirmed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "broadcast_confirmations",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("message_id", BigIntPK, nullable=False),
        sa.Column("user_id", BigIntPK, nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbox_messages.id"],
            name=op.f("fk_broadcast_confirmations_message_id_outbox_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_broadcast_confirmations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_confirmations")),
        sa.UniqueConstraint(
            "message_id", "chat_id", name="uq_broadcast_confirmations_message_chat"
        ),
    )


def downgrade() -> None:
    op.drop_table("broadcast_confirmations")
