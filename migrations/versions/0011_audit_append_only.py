"""The audit trail is append-only in the database itself: UPDATE, DELETE and TRUNCATE on
audit_events are refused by a trigger, whoever sends them (the ORM already refused them).

Two changes remain allowed:
- A deleted user's entries lose their actor (the foreign key's ON DELETE SET NULL): an UPDATE
  that changes nothing but actor_id to NULL.
- On PostgreSQL, `ferry_purge_audit_events(before, batch)` deletes the entries older than
  `before`, at most `batch` of them. It is the retention purge's only way in: the trigger lets
  a DELETE through only when that function is on the call stack.

The table's owner can still drop the trigger; keeping the trail from the owner too means
running Ferry as a role that does not own its tables (docs/scaling.md, "Running N web
and M worker machines").

Revision ID: 0011
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

POSTGRESQL_UP = [
    """
CREATE FUNCTION ferry_audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stack text;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
            AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        GET DIAGNOSTICS stack = PG_CONTEXT;
        IF stack LIKE '%function ferry_purge_audit_events(%' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Entries are only added; ferry_purge_audit_events() removes expired ones.';
END $$
""",
    """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION ferry_audit_events_append_only()
""",
    """
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION ferry_audit_events_append_only()
""",
    """
CREATE FUNCTION ferry_purge_audit_events(before timestamptz, batch integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    purged integer;
BEGIN
    DELETE FROM audit_events WHERE id IN (
        SELECT id FROM audit_events WHERE inserted_at < before ORDER BY inserted_at LIMIT batch
    );
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN purged;
END $$
""",
]
POSTGRESQL_DOWN = [
    "DROP FUNCTION ferry_purge_audit_events(timestamptz, integer)",
    "DROP TRIGGER audit_events_no_truncate ON audit_events",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "DROP FUNCTION ferry_audit_events_append_only()",
]

# SQLite (the zero-setup demo) has no purge; its triggers refuse every change but the
# actor's removal. SQLite has no TRUNCATE.
SQLITE_UP = [
    """
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
          AND NEW.id IS OLD.id AND NEW.item_type IS OLD.item_type
          AND NEW.item_id IS OLD.item_id AND NEW.event IS OLD.event
          AND NEW.changes IS OLD.changes AND NEW.project_id IS OLD.project_id
          AND NEW.inserted_at IS OLD.inserted_at)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END
""",
    """
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END
""",
]
SQLITE_DOWN = [
    "DROP TRIGGER audit_events_no_delete",
    "DROP TRIGGER audit_events_no_update",
]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _run(POSTGRESQL_UP)
    else:
        _run(SQLITE_UP)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _run(POSTGRESQL_DOWN)
    else:
        _run(SQLITE_DOWN)
