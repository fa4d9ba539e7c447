"""Runs remember the output of their last leaf step (sync replies, cron input).

Revision ID: 0002
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode, so SQLite (the demo database) can add the foreign key too.
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("final_dataclip_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_runs_final_dataclip_id_dataclips"), "dataclips",
            ["final_dataclip_id"], ["id"], ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("fk_runs_final_dataclip_id_dataclips"), type_="foreignkey")
        batch.drop_column("final_dataclip_id")
