"""Workflow templates saved for the instance; users' choice of 24-hour or 12-hour times.

Adds a table and one defaulted column (every existing user gets 24-hour times).

Revision ID: 0008
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('workflow_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('sample_input', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('source_project_id', sa.Uuid(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workflow_templates_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_project_id'], ['projects.id'], name=op.f('fk_workflow_templates_source_project_id_projects'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_workflow_templates_name'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_format', sa.String(length=8), server_default='24h', nullable=False))
        batch_op.create_check_constraint(op.f('ck_users_time_format'), "time_format IN ('24h', '12h')")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_time_format'), type_='check')
        batch_op.drop_column('time_format')
    op.drop_table('workflow_templates')
