"""Bulk reruns are rows: their progress (was a Redis hash) and the work orders left to rerun.

Progress kept in Redis before this revision is not carried over: it lived a week at most and
its jobs take arguments the new job function no longer reads.

Revision ID: 0005
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bulk_reruns',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('step_key', sa.String(length=100), nullable=True),
    sa.Column('state', sa.Enum('queued', 'running', 'finished', 'failed', name='bulk_rerun_state', native_enum=False, create_constraint=True, length=32), server_default='queued', nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created', sa.Integer(), server_default='0', nullable=False),
    sa.Column('skipped', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('done >= 0 AND done <= total', name=op.f('ck_bulk_reruns_done_within_total')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_bulk_reruns_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_bulk_reruns_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_reruns'))
    )
    op.create_index(op.f('ix_bulk_reruns_project_id_inserted_at'), 'bulk_reruns', ['project_id', 'inserted_at'], unique=False)
    op.create_table('bulk_rerun_items',
    sa.Column('bulk_rerun_id', sa.Uuid(), nullable=False),
    sa.Column('work_order_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['bulk_rerun_id'], ['bulk_reruns.id'], name=op.f('fk_bulk_rerun_items_bulk_rerun_id_bulk_reruns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_bulk_rerun_items_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('bulk_rerun_id', 'work_order_id', name=op.f('pk_bulk_rerun_items'))
    )
    op.create_index(op.f('ix_bulk_rerun_items_work_order_id'), 'bulk_rerun_items', ['work_order_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_bulk_rerun_items_work_order_id'), table_name='bulk_rerun_items')
    op.drop_table('bulk_rerun_items')
    op.drop_index(op.f('ix_bulk_reruns_project_id_inserted_at'), table_name='bulk_reruns')
    op.drop_table('bulk_reruns')
