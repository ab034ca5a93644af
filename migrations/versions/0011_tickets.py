"""tickets and their threads replace the helpdesk handoffs (each handoff becomes a ticket)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("question_id", BigIntPK, nullable=True),
        sa.Column("user_id", BigIntPK, nullable=True),
        sa.Column("asker_name", sa.String(length=200), nullable=True),
        sa.Column("opd_name", sa.String(length=200), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("account", sa.String(length=200), nullable=True),
        sa.Column("situation", sa.String(length=32), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=True),
        sa.Column("helpdesk_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("helpdesk_message_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        sa.Column("claimed_name", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", When, nullable=True),
        sa.Column("answered_at", When, nullable=True),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("warned_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question_log.id"],
            name=op.f("fk_tickets_question_id_question_log"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tickets_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("question_id", name=op.f("uq_tickets_question_id")),
    )
    with op.batch_alter_table("tickets") as batch:
        batch.create_index("ix_tickets_status_created", ["status", "created_at"])
    op.create_table(
        "ticket_messages",
        sa.Column("id", BigIntPK, autoincrement=True, nullable=False),
        sa.Column("ticket_id", BigIntPK, nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("helpdesk_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("helpdesk_message_id", sa.BigInteger(), nullable=True),
        sa.Column("asker_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("asker_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_messages")),
    )
    with op.batch_alter_table("ticket_messages") as batch:
        batch.create_index(
            "ix_ticket_messages_helpdesk", ["helpdesk_chat_id", "helpdesk_message_id"]
        )
        batch.create_index("ix_ticket_messages_asker", ["asker_chat_id", "asker_message_id"])

    # every handoff becomes a ticket with the same number; its answer becomes the thread
    op.execute(
        "INSERT INTO tickets (id, kind, urgent, status, question_id, user_id, question,"
        " helpdesk_chat_id, helpdesk_message_id, answered_at, created_at, updated_at)"
        " SELECT id, 'question', false, status, question_id, user_id, question,"
        " helpdesk_chat_id, helpdesk_message_id, answered_at, created_at,"
        " COALESCE(answered_at, created_at) FROM handoffs"
    )
    op.execute(
        "INSERT INTO ticket_messages (ticket_id, direction, author, text, created_at)"
        " SELECT id, 'in', NULL, question, created_at FROM handoffs"
    )
    op.execute(
        "INSERT INTO ticket_messages (ticket_id, direction, author, text, created_at)"
        " SELECT id, 'out', answered_by, answer, COALESCE(answered_at, created_at)"
        " FROM handoffs WHERE answer IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('tickets', 'id'),"
            " COALESCE((SELECT MAX(id) FROM tickets), 0) + 1, false)"
        )
    op.drop_table("handoffs")


def downgrade() -> None:
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
        sa.Column("answered_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
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
    with op.batch_alter_table("handoffs") as batch:
        batch.create_index(
            "ix_handoffs_helpdesk_message", ["helpdesk_chat_id", "helpdesk_message_id"]
        )
    op.execute(
        "INSERT INTO handoffs (id, question_id, user_id, question, helpdesk_chat_id,"
        " helpdesk_message_id, status, answered_at, created_at)"
        " SELECT id, question_id, user_id, question, helpdesk_chat_id, helpdesk_message_id,"
        " CASE WHEN status = 'open' THEN 'open' ELSE 'answered' END, answered_at, created_at"
        " FROM tickets WHERE kind = 'question' AND helpdesk_chat_id IS NOT NULL"
    )
    op.drop_table("ticket_messages")
    op.drop_table("tickets")
