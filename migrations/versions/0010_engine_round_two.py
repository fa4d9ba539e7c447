"""Run engine, round two: retry policies on workflows and steps, a waiting run's due time and
resume point, attempts on step runs, signed webhooks (and the signatures seen, against
replays), per-project run limits, and collections.

Adds nullable or defaulted columns and new tables: every existing row stays as it was.

Revision ID: 0010
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ITEM_KEY = sa.String(255).with_variant(sa.String(255, collation='C'), 'postgresql')


def upgrade():
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_policy', JSON, nullable=True))

    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_policy', JSON, nullable=True))

    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resume', JSON, nullable=True))
        batch_op.create_index(
            op.f('ix_runs_state_available_at'), ['state', 'available_at'], unique=False
        )

    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('attempt', sa.SmallInteger(), server_default='1', nullable=False)
        )
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_signature_header', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('webhook_signature_algorithm', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('webhook_signature_secret_encrypted', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('webhook_timestamp_header', sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column('webhook_replay_window_s', sa.Integer(), server_default='300', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_triggers_signature_algorithm_known'),
            "webhook_signature_algorithm IS NULL OR webhook_signature_algorithm IN ('sha256', 'sha1')",
        )
        batch_op.create_check_constraint(
            op.f('ck_triggers_replay_window_positive'), 'webhook_replay_window_s > 0'
        )

    op.create_table('webhook_signatures_seen',
    sa.Column('trigger_id', sa.Uuid(), nullable=False),
    sa.Column('signature_digest', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_webhook_signatures_seen_trigger_id_triggers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trigger_id', 'signature_digest', name=op.f('pk_webhook_signatures_seen'))
    )
    with op.batch_alter_table('webhook_signatures_seen', schema=None) as batch_op:
        batch_op.create_index(op.f('ix_webhook_signatures_seen_seen_at'), ['seen_at'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_timeout_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('step_memory_mb', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_payload_kb', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('discard_logs', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_projects_run_limits_positive'),
            '(run_timeout_s IS NULL OR run_timeout_s > 0)'
            ' AND (step_memory_mb IS NULL OR step_memory_mb > 0)'
            ' AND (max_payload_kb IS NULL OR max_payload_kb > 0)',
        )

    op.create_table('collections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_collections_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_collections_project_id_name'))
    )
    op.create_table('collection_items',
    sa.Column('collection_id', sa.Uuid(), nullable=False),
    sa.Column('key', ITEM_KEY, nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], name=op.f('fk_collection_items_collection_id_collections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('collection_id', 'key', name=op.f('pk_collection_items'))
    )


def downgrade():
    op.drop_table('collection_items')
    op.drop_table('collections')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_projects_run_limits_positive'), type_='check')
        batch_op.drop_column('discard_logs')
        batch_op.drop_column('max_payload_kb')
        batch_op.drop_column('step_memory_mb')
        batch_op.drop_column('run_timeout_s')
    op.drop_table('webhook_signatures_seen')
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_triggers_replay_window_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_triggers_signature_algorithm_known'), type_='check')
        batch_op.drop_column('webhook_replay_window_s')
        batch_op.drop_column('webhook_timestamp_header')
        batch_op.drop_column('webhook_signature_secret_encrypted')
        batch_op.drop_column('webhook_signature_algorithm')
        batch_op.drop_column('webhook_signature_header')
    with op.batch_alter_table('step_runs', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempt')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(op.f('ix_runs_state_available_at'))
        batch_op.drop_column('resume')
        batch_op.drop_column('available_at')
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.drop_column('retry_policy')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_column('retry_policy')
