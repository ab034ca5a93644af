"""feedback surveys: sessions, responses, answers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "feedback_sessions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("organizer_name", sa.String(length=200), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=False),
        sa.Column("questionnaire", sa.JSON(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_feedback_sessions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_sessions")),
        sa.UniqueConstraint("code", name=op.f("uq_feedback_sessions_code")),
    )
    op.create_table(
        "feedback_responses",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("session_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("respondent_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_index", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["feedback_sessions.id"],
            name=op.f("fk_feedback_responses_session_id_feedback_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_feedback_responses_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_responses")),
        sa.UniqueConstraint(
            "session_id",
            "respondent_hash",
            name="uq_feedback_responses_session_respondent",
        ),
    )
    with op.batch_alter_table("feedback_responses", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_responses_updated_at", ["updated_at"], unique=False)
        batch_op.create_index("ix_feedback_responses_user_id", ["user_id"], unique=False)
    op.create_table(
        "feedback_answers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("response_id", ID, nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["feedback_responses.id"],
            name=op.f("fk_feedback_answers_response_id_feedback_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_answers")),
        sa.UniqueConstraint("response_id", "key", name="uq_feedback_answers_response_key"),
    )


def downgrade() -> None:
    op.drop_table("feedback_answers")
    with op.batch_alter_table("feedback_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_responses_user_id")
        batch_op.drop_index("ix_feedback_responses_updated_at")
    op.drop_table("feedback_responses")
    op.drop_table("feedback_sessions")
