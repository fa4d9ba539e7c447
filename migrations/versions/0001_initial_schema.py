"""The initial schema: every table of Ferry's data model (ARCHITECTURE.md words).

Revision ID: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('projects',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=True),
    sa.Column('history_retention_days', sa.Integer(), nullable=True),
    sa.Column('dataclip_retention_days', sa.Integer(), nullable=True),
    sa.Column('egress_allowlist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('concurrency IS NULL OR concurrency > 0', name=op.f('ck_projects_concurrency_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('is_superuser', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('disabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('session_nonce', sa.String(length=32), nullable=False),
    sa.Column('totp_secret_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_api_tokens_token_digest'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('item_type', sa.String(length=50), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=50), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_item_type_item_id_inserted_at'), 'audit_events', ['item_type', 'item_id', 'inserted_at'], unique=False)
    op.create_table('credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('schema', sa.String(length=100), nullable=False),
    sa.Column('body_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('production', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_credentials_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_credentials_user_id_name'))
    )
    op.create_table('dataclips',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.Enum('http_request', 'global', 'step_result', 'saved_input', name='dataclip_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw_body', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=200), nullable=True),
    sa.Column('request', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('wiped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_dataclips_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dataclips'))
    )
    op.create_index(op.f('ix_dataclips_project_id_inserted_at'), 'dataclips', ['project_id', 'inserted_at'], unique=False)
    op.create_table('project_members',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('viewer', 'editor', 'admin', 'owner', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('failure_alerts', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('digest', sa.Enum('never', 'daily', 'weekly', 'monthly', name='digest', native_enum=False, create_constraint=True, length=32), server_default='never', nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_members')),
    sa.UniqueConstraint('project_id', 'user_id', name=op.f('uq_project_members_project_id_user_id'))
    )
    op.create_index(op.f('ix_project_members_user_id'), 'project_members', ['user_id'], unique=False)
    op.create_table('workflows',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('concurrency', sa.Integer(), nullable=True),
    sa.Column('positions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lock_version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('concurrency IS NULL OR concurrency > 0', name=op.f('ck_workflows_concurrency_positive')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_workflows_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_workflows_project_id_name'))
    )
    op.create_table('project_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_project_credentials_credential_id_credentials'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_credentials_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_credentials')),
    sa.UniqueConstraint('project_id', 'credential_id', name=op.f('uq_project_credentials_project_id_credential_id'))
    )
    op.create_index(op.f('ix_project_credentials_credential_id'), 'project_credentials', ['credential_id'], unique=False)
    op.create_table('steps',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('adaptor', sa.String(length=100), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=True),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], name=op.f('fk_steps_credential_id_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_steps_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steps')),
    sa.UniqueConstraint('workflow_id', 'key', name=op.f('uq_steps_workflow_id_key'))
    )
    op.create_index(op.f('ix_steps_credential_id'), 'steps', ['credential_id'], unique=False)
    op.create_table('workflow_snapshots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workflow_snapshots_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_snapshots_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_snapshots')),
    sa.UniqueConstraint('workflow_id', 'lock_version', name=op.f('uq_workflow_snapshots_workflow_id_lock_version'))
    )
    op.create_table('triggers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('type', sa.Enum('webhook', 'cron', name='trigger_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('custom_path', sa.String(length=200), nullable=True),
    sa.Column('webhook_auth', sa.Enum('none', 'api_key', 'basic', name='webhook_auth', native_enum=False, create_constraint=True, length=32), server_default='none', nullable=False),
    sa.Column('webhook_username', sa.String(length=200), nullable=True),
    sa.Column('webhook_secret_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('webhook_reply', sa.Enum('before_start', 'after_completion', name='webhook_reply', native_enum=False, create_constraint=True, length=32), server_default='before_start', nullable=False),
    sa.Column('cron_expression', sa.String(length=200), nullable=True),
    sa.Column('cron_timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('cron_input', sa.Enum('last_success', 'step_output', 'empty', name='cron_input', native_enum=False, create_constraint=True, length=32), server_default='last_success', nullable=False),
    sa.Column('cron_input_step_id', sa.Uuid(), nullable=True),
    sa.Column('cron_last_tick_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("type <> 'cron' OR cron_expression IS NOT NULL", name=op.f('ck_triggers_cron_needs_expression')),
    sa.ForeignKeyConstraint(['cron_input_step_id'], ['steps.id'], name=op.f('fk_triggers_cron_input_step_id_steps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_triggers_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers')),
    sa.UniqueConstraint('custom_path', name=op.f('uq_triggers_custom_path')),
    sa.UniqueConstraint('workflow_id', 'key', name=op.f('uq_triggers_workflow_id_key'))
    )
    op.create_table('edges',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('source_trigger_id', sa.Uuid(), nullable=True),
    sa.Column('source_step_id', sa.Uuid(), nullable=True),
    sa.Column('target_step_id', sa.Uuid(), nullable=False),
    sa.Column('condition_type', sa.Enum('always', 'on_job_success', 'on_job_failure', 'expression', name='edge_condition', native_enum=False, create_constraint=True, length=32), server_default='always', nullable=False),
    sa.Column('condition_expression', sa.Text(), nullable=True),
    sa.Column('condition_label', sa.String(length=200), nullable=True),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("condition_type <> 'expression' OR condition_expression IS NOT NULL", name=op.f('ck_edges_expression_needs_text')),
    sa.CheckConstraint('(source_trigger_id IS NULL) <> (source_step_id IS NULL)', name=op.f('ck_edges_one_source')),
    sa.ForeignKeyConstraint(['source_step_id'], ['steps.id'], name=op.f('fk_edges_source_step_id_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_trigger_id'], ['triggers.id'], name=op.f('fk_edges_source_trigger_id_triggers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_step_id'], ['steps.id'], name=op.f('fk_edges_target_step_id_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_edges_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edges'))
    )
    op.create_index(op.f('ix_edges_workflow_id'), 'edges', ['workflow_id'], unique=False)
    op.create_table('work_orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('trigger_id', sa.Uuid(), nullable=True),
    sa.Column('snapshot_id', sa.Uuid(), nullable=False),
    sa.Column('dataclip_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'running', 'success', 'failed', 'crashed', 'killed', 'cancelled', 'exception', 'lost', name='work_order_state', native_enum=False, create_constraint=True, length=32), server_default='pending', nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('cron_tick_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['dataclip_id'], ['dataclips.id'], name=op.f('fk_work_orders_dataclip_id_dataclips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_work_orders_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['workflow_snapshots.id'], name=op.f('fk_work_orders_snapshot_id_workflow_snapshots')),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_work_orders_trigger_id_triggers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_work_orders_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('trigger_id', 'cron_tick_at', name=op.f('uq_work_orders_trigger_id_cron_tick_at')),
    sa.UniqueConstraint('trigger_id', 'idempotency_key', name=op.f('uq_work_orders_trigger_id_idempotency_key'))
    )
    op.create_index(op.f('ix_work_orders_project_id_inserted_at'), 'work_orders', ['project_id', 'inserted_at'], unique=False)
    op.create_index(op.f('ix_work_orders_project_id_last_activity_at'), 'work_orders', ['project_id', 'last_activity_at'], unique=False)
    op.create_index(op.f('ix_work_orders_workflow_id_state'), 'work_orders', ['workflow_id', 'state'], unique=False)
    op.create_table('runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('work_order_id', sa.Uuid(), nullable=False),
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('workflow_id', sa.Uuid(), nullable=False),
    sa.Column('snapshot_id', sa.Uuid(), nullable=False),
    sa.Column('starting_trigger_id', sa.Uuid(), nullable=True),
    sa.Column('starting_step_id', sa.Uuid(), nullable=True),
    sa.Column('dataclip_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('available', 'claimed', 'started', 'success', 'failed', 'crashed', 'killed', 'cancelled', 'exception', 'lost', name='run_state', native_enum=False, create_constraint=True, length=32), server_default='available', nullable=False),
    sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('worker_name', sa.String(length=200), nullable=True),
    sa.Column('error_type', sa.String(length=100), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('inserted_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['dataclip_id'], ['dataclips.id'], name=op.f('fk_runs_dataclip_id_dataclips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_runs_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['workflow_snapshots.id'], name=op.f('fk_runs_snapshot_id_workflow_snapshots')),
    sa.ForeignKeyConstraint(['starting_step_id'], ['steps.id'], name=op.f('fk_runs_starting_step_id_steps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['starting_trigger_id'], ['triggers.id'], name=op.f('fk_runs_starting_trigger_id_triggers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_runs_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_runs_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_index(op.f('ix_runs_project_id_state'), 'runs', ['project_id', 'state'], unique=False)
    op.create_index(op.f('ix_runs_state_priority_inserted_at'), 'runs', ['state', 'priority', 'inserted_at'], unique=False)
    op.create_index(op.f('ix_runs_work_order_id'), 'runs', ['work_order_id'], unique=False)
    op.create_index(op.f('ix_runs_workflow_id_state'), 'runs', ['workflow_id', 'state'], unique=False)
    op.create_table('step_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('step_id', sa.Uuid(), nullable=False),
    sa.Column('step_name', sa.String(length=200), nullable=False),
    sa.Column('input_dataclip_id', sa.Uuid(), nullable=True),
    sa.Column('output_dataclip_id', sa.Uuid(), nullable=True),
    sa.Column('exit_reason', sa.Enum('success', 'failed', 'crashed', 'killed', 'cancelled', 'exception', 'lost', name='step_exit_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('error_type', sa.String(length=100), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['input_dataclip_id'], ['dataclips.id'], name=op.f('fk_step_runs_input_dataclip_id_dataclips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['output_dataclip_id'], ['dataclips.id'], name=op.f('fk_step_runs_output_dataclip_id_dataclips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_step_runs_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step_runs'))
    )
    op.create_index(op.f('ix_step_runs_run_id_started_at'), 'step_runs', ['run_id', 'started_at'], unique=False)
    op.create_index(op.f('ix_step_runs_step_id'), 'step_runs', ['step_id'], unique=False)
    op.create_table('log_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('step_run_id', sa.Uuid(), nullable=True),
    sa.Column('level', sa.Enum('debug', 'info', 'warn', 'error', name='log_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.Enum('job', 'adaptor', 'runtime', name='log_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_log_lines_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_run_id'], ['step_runs.id'], name=op.f('fk_log_lines_step_run_id_step_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_lines'))
    )
    op.create_index(op.f('ix_log_lines_run_id_timestamp'), 'log_lines', ['run_id', 'timestamp'], unique=False)
    op.create_index(op.f('ix_log_lines_step_run_id'), 'log_lines', ['step_run_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_log_lines_step_run_id'), table_name='log_lines')
    op.drop_index(op.f('ix_log_lines_run_id_timestamp'), table_name='log_lines')
    op.drop_table('log_lines')
    op.drop_index(op.f('ix_step_runs_step_id'), table_name='step_runs')
    op.drop_index(op.f('ix_step_runs_run_id_started_at'), table_name='step_runs')
    op.drop_table('step_runs')
    op.drop_index(op.f('ix_runs_workflow_id_state'), table_name='runs')
    op.drop_index(op.f('ix_runs_work_order_id'), table_name='runs')
    op.drop_index(op.f('ix_runs_state_priority_inserted_at'), table_name='runs')
    op.drop_index(op.f('ix_runs_project_id_state'), table_name='runs')
    op.drop_table('runs')
    op.drop_index(op.f('ix_work_orders_workflow_id_state'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_project_id_last_activity_at'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_project_id_inserted_at'), table_name='work_orders')
    op.drop_table('work_orders')
    op.drop_index(op.f('ix_edges_workflow_id'), table_name='edges')
    op.drop_table('edges')
    op.drop_table('triggers')
    op.drop_table('workflow_snapshots')
    op.drop_index(op.f('ix_steps_credential_id'), table_name='steps')
    op.drop_table('steps')
    op.drop_index(op.f('ix_project_credentials_credential_id'), table_name='project_credentials')
    op.drop_table('project_credentials')
    op.drop_table('workflows')
    op.drop_index(op.f('ix_project_members_user_id'), table_name='project_members')
    op.drop_table('project_members')
    op.drop_index(op.f('ix_dataclips_project_id_inserted_at'), table_name='dataclips')
    op.drop_table('dataclips')
    op.drop_table('credentials')
    op.drop_index(op.f('ix_audit_events_item_type_item_id_inserted_at'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('projects')
