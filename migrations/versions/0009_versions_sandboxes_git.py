"""Versions and projects as code: a message on each saved version (and which version a restore
copied), sandboxes (a project cloned from a parent, with the parent's document at the time of
the clone), and one git remote per project.

Adds nullable or defaulted columns and a new table: every existing row stays as it was.

Revision ID: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('workflow_snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('restored_from_version', sa.Integer(), nullable=True))

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('cloned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sandbox_base', JSON, nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_projects_parent_id_projects'), 'projects', ['parent_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_index(op.f('ix_projects_parent_id'), ['parent_id'], unique=False)

    op.create_table('project_git_remotes',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('branch', sa.String(length=200), server_default='main', nullable=False),
    sa.Column('auth_kind', sa.String(length=16), server_default='none', nullable=False),
    sa.Column('secret_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('synced_commit', sa.String(length=64), nullable=True),
    sa.Column('synced_document', JSON, nullable=True),
    sa.Column('status', sa.String(length=16), server_default='never', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("auth_kind IN ('none', 'ssh_key', 'https_token')", name=op.f('ck_project_git_remotes_auth_kind')),
    sa.CheckConstraint("status IN ('never', 'ok', 'pending', 'conflict', 'failed')", name=op.f('ck_project_git_remotes_status')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_git_remotes_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_project_git_remotes_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_git_remotes'))
    )


def downgrade():
    op.drop_table('project_git_remotes')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(op.f('ix_projects_parent_id'))
        batch_op.drop_constraint(op.f('fk_projects_parent_id_projects'), type_='foreignkey')
        batch_op.drop_column('sandbox_base')
        batch_op.drop_column('cloned_at')
        batch_op.drop_column('parent_id')
    with op.batch_alter_table('workflow_snapshots', schema=None) as batch_op:
        batch_op.drop_column('restored_from_version')
        batch_op.drop_column('message')
