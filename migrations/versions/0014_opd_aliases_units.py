"""OPD aliases and parents (units such as UPTD, puskesmas and schools under an OPD)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("opds") as batch:
        batch.add_column(sa.Column("aliases", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("parent_id", BigIntPK, nullable=True))
        batch.create_foreign_key(
            op.f("fk_opds_parent_id_opds"), "opds", ["parent_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("opds") as batch:
        batch.drop_constraint(op.f("fk_opds_parent_id_opds"), type_="foreignkey")
        batch.drop_column("parent_id")
        batch.drop_column("aliases")
