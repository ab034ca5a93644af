"""the knowledge base learns from use: phrasings, /celah decisions, drafts, revision counters

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _question_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["question_id"],
        ["question_log.id"],
        name=op.f(f"fk_{table}_question_id_question_log"),
        ondelete="SET NULL",
    )


def upgrade() -> None:
    op.create_table(
        "kb_phrasings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("question_id", _ID, nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _question_fk("kb_phrasings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_phrasings")),
        sa.UniqueConstraint("entry_id", "key", name="uq_kb_phrasings_entry_key"),
    )
    op.create_index("ix_kb_phrasings_status", "kb_phrasings", ["status"])
    op.create_table(
        "kb_gap_marks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("question_id", _ID, nullable=True),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _question_fk("kb_gap_marks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_gap_marks")),
    )
    op.create_table(
        "kb_drafts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("pillar", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("near", sa.JSON(), nullable=False),
        sa.Column("question_id", _ID, nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _question_fk("kb_drafts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_drafts")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_kb_drafts_entry_id")),
    )
    op.create_table(
        "kb_revisions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kb_revisions")),
    )


def downgrade() -> None:
    op.drop_table("kb_revisions")
    op.drop_table("kb_drafts")
    op.drop_table("kb_gap_marks")
    op.drop_index("ix_kb_phrasings_status", table_name="kb_phrasings")
    op.drop_table("kb_phrasings")
