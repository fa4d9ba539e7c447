"""Data protection: retention limits checked in the database (dataclips within history), zero
persistence per project, a grace period before a project or a user is purged, a per-trigger
webhook rate limit, an index for the retention purge, and history exports kept in parts.

Retention values saved before this revision are made to fit the new rule first (a dataclip
limit above the history limit, or missing beside one, becomes the history limit; zero or
negative limits become "forever"), so the constraint can be added on any database.

Revision ID: 0012
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.execute(
        "UPDATE projects SET history_retention_days = NULL WHERE history_retention_days <= 0"
    )
    op.execute(
        "UPDATE projects SET dataclip_retention_days = NULL WHERE dataclip_retention_days <= 0"
    )
    op.execute(
        "UPDATE projects SET dataclip_retention_days = history_retention_days"
        " WHERE history_retention_days IS NOT NULL AND (dataclip_retention_days IS NULL"
        " OR dataclip_retention_days > history_retention_days)"
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletion_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('zero_persistence', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_projects_retention_within_history'),
            "(history_retention_days IS NULL OR history_retention_days > 0)"
            " AND (dataclip_retention_days IS NULL OR dataclip_retention_days > 0)"
            " AND (history_retention_days IS NULL OR dataclip_retention_days IS NOT NULL"
            " AND dataclip_retention_days <= history_retention_days)",
        )
    # Deletions requested before this revision keep their old meaning: purge now.
    op.execute(
        "UPDATE projects SET deletion_due_at = deletion_requested_at"
        " WHERE deletion_requested_at IS NOT NULL"
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('deletion_requested_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('deletion_due_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_requests_per_minute', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_triggers_requests_per_minute_positive'),
            'webhook_requests_per_minute IS NULL OR webhook_requests_per_minute > 0',
        )

    with op.batch_alter_table('dataclips', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('not_stored', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            'ix_dataclips_unwiped',
            ['project_id', 'inserted_at'],
            unique=False,
            postgresql_where=sa.text('wiped_at IS NULL'),
            sqlite_where=sa.text('wiped_at IS NULL'),
        )

    # Deleting dataclips sets these foreign keys to NULL; without an index every deleted row
    # would scan the whole table.
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_dataclip_id'), ['dataclip_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_runs_final_dataclip_id'), ['final_dataclip_id'], unique=False
        )
    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_step_runs_input_dataclip_id'), ['input_dataclip_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_step_runs_output_dataclip_id'), ['output_dataclip_id'], unique=False
        )

    op.create_table('history_exports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('filters', JSON, nullable=False),
    sa.Column('include_dataclips', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'ready', 'failed', 'expired', name='history_export_state', native_enum=False, create_constraint=True, length=32), server_default='queued', nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('done >= 0', name=op.f('ck_history_exports_done_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_history_exports_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_history_exports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_exports'))
    )
    with op.batch_alter_table('history_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_exports_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_history_exports_project_id_inserted_at'), ['project_id', 'inserted_at'], unique=False)

    op.create_table('history_export_parts',
    sa.Column('export_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['history_exports.id'], name=op.f('fk_history_export_parts_export_id_history_exports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_history_export_parts'))
    )


def downgrade():
    op.drop_table('history_export_parts')
    with op.batch_alter_table('history_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_exports_project_id_inserted_at'))
        batch_op.drop_index(batch_op.f('ix_history_exports_expires_at'))
    op.drop_table('history_exports')

    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_runs_output_dataclip_id'))
        batch_op.drop_index(batch_op.f('ix_step_runs_input_dataclip_id'))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_final_dataclip_id'))
        batch_op.drop_index(batch_op.f('ix_runs_dataclip_id'))

    with op.batch_alter_table('dataclips', schema=None) as batch_op:
        batch_op.drop_index('ix_dataclips_unwiped')
        batch_op.drop_column('not_stored')

    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f('ck_triggers_requests_per_minute_positive'), type_='check'
        )
        batch_op.drop_column('webhook_requests_per_minute')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deletion_due_at')
        batch_op.drop_column('deletion_requested_at')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_projects_retention_within_history'), type_='check')
        batch_op.drop_column('zero_persistence')
        batch_op.drop_column('deletion_due_at')
