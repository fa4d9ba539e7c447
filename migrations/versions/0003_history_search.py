"""History search and filters: composite indexes for the history filters and the dashboard,
and (PostgreSQL) search indexes over a bounded text projection of dataclip bodies (words:
full-text GIN over the first 4 KB) and log lines (any part: trigram GIN over the first 2 KB).

The body's searchable text and words are two SQL functions, used by both the index and
app/services/history_search.py. They are declared costly (turning a JSON body into text is
slow), so that PostgreSQL looks rare words up in the index and tests common ones row by row.

Revision ID: 0003
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

LOG_TEXT = "left(message, 2048)"
FUNCTIONS = """
CREATE FUNCTION ferry_dataclip_text(body jsonb, raw_body text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 2500 AS $$
BEGIN
  -- A body stored as JSON null (a non-JSON request) falls through to the raw body.
  RETURN left(coalesce(nullif(body::text, 'null'), raw_body, ''), 4096);
END $$;
CREATE FUNCTION ferry_dataclip_words(body jsonb, raw_body text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 5000 AS $$
BEGIN
  RETURN to_tsvector('simple'::regconfig, ferry_dataclip_text(body, raw_body));
END $$;
"""


def upgrade():
    # The history's filters: state alone, workflow with or without state, newest first.
    op.create_index(op.f('ix_work_orders_project_id_state_inserted_at'), 'work_orders',
                    ['project_id', 'state', 'inserted_at'], unique=False)
    # Replaces (workflow_id, state): same prefix, and it also orders by arrival.
    op.drop_index(op.f('ix_work_orders_workflow_id_state'), table_name='work_orders')
    op.create_index(op.f('ix_work_orders_workflow_id_state_inserted_at'), 'work_orders',
                    ['workflow_id', 'state', 'inserted_at'], unique=False)
    op.create_index(op.f('ix_work_orders_workflow_id_inserted_at'), 'work_orders',
                    ['workflow_id', 'inserted_at'], unique=False)
    # From a dataclip found by search back to its work order.
    op.create_index(op.f('ix_work_orders_dataclip_id'), 'work_orders', ['dataclip_id'],
                    unique=False)
    # The dashboard counts a project's runs over a period.
    op.create_index(op.f('ix_runs_project_id_inserted_at'), 'runs',
                    ['project_id', 'inserted_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(FUNCTIONS)
        op.execute("CREATE INDEX ix_dataclips_search_words ON dataclips "
                   "USING gin (ferry_dataclip_words(body, raw_body))")
        # Written out: SQLAlchemy cannot attach an operator class to a text expression.
        op.execute("CREATE INDEX ix_log_lines_search_text ON log_lines "
                   f"USING gin (({LOG_TEXT}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('ix_log_lines_search_text', table_name='log_lines')
        op.drop_index('ix_dataclips_search_words', table_name='dataclips')
        op.execute("DROP FUNCTION ferry_dataclip_words(jsonb, text)")
        op.execute("DROP FUNCTION ferry_dataclip_text(jsonb, text)")
        # pg_trgm stays: other objects may use it, and keeping it is harmless.
    op.drop_index(op.f('ix_runs_project_id_inserted_at'), table_name='runs')
    op.drop_index(op.f('ix_work_orders_dataclip_id'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_workflow_id_inserted_at'), table_name='work_orders')
    op.drop_index(op.f('ix_work_orders_workflow_id_state_inserted_at'), table_name='work_orders')
    op.create_index(op.f('ix_work_orders_workflow_id_state'), 'work_orders',
                    ['workflow_id', 'state'], unique=False)
    op.drop_index(op.f('ix_work_orders_project_id_state_inserted_at'), table_name='work_orders')
