"""helpdesk handoffs for questions the knowledge base could not answer

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("question_id", BigIntPK, nullable=True),
        sa.Column("user_id", BigIntPK, nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("helpdesk_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("helpdesk_message_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question_log.id"],
            name=op.f("fk_handoffs_question_id_question_log"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_handoffs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
    )
    with op.batch_alter_table("handoffs") as batch_op:
        batch_op.create_index(
            "ix_handoffs_helpdesk_message", ["helpdesk_chat_id", "helpdesk_message_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch_op:
        batch_op.drop_index("ix_handoffs_helpdesk_message")
    op.drop_table("handoffs")
