"""Re-encrypting every stored secret under the first key of FERRY_ENCRYPTION_KEYS.

Rotation: put a new key first in FERRY_ENCRYPTION_KEYS (keep the old ones after it), run
`ferry rotate-keys`, then remove the old keys. Work goes in batches with a commit each, so
an interrupted rotation is simply run again: values already under the first key are
recognised and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from app.extensions import db
from app.models import Credential, OAuthClient, Trigger, User
from app.services.encryption import DecryptionFailed, reencrypt

# Every encrypted column: (model, column name). A new one must be added here.
ENCRYPTED_COLUMNS = (
    (Credential, "body_encrypted"),
    (Trigger, "webhook_secret_encrypted"),
    (Trigger, "webhook_signature_secret_encrypted"),
    (User, "totp_secret_encrypted"),
    (OAuthClient, "client_secret_encrypted"),
)


@dataclass
class ColumnReport:
    """What happened to one column's values."""

    rotated: int = 0
    already_current: int = 0
    unreadable: list[str] = field(default_factory=list)


def rotate_all(batch_size: int = 500) -> dict[str, ColumnReport]:
    """Re-encrypt every encrypted value under the first key; a report per `table.column`.

    Values no key can open are listed (by row id) and left untouched.
    """
    from flask import current_app

    first = Fernet(current_app.config["FERRY_SETTINGS"].encryption_keys[0].encode())
    return {
        f"{model.__tablename__}.{column}": _rotate_column(model, column, first, batch_size)
        for model, column in ENCRYPTED_COLUMNS
    }


def _rotate_column(model, column_name: str, first: Fernet, batch_size: int) -> ColumnReport:
    table = model.__table__
    column = table.c[column_name]
    report = ColumnReport()
    last_id = None
    while True:
        query = sa.select(table.c.id, column).where(column.is_not(None)).order_by(table.c.id)
        if last_id is not None:
            query = query.where(table.c.id > last_id)
        rows = db.session.execute(query.limit(batch_size)).all()
        if not rows:
            return report
        for row_id, token in rows:
            if _opens_with(first, token):
                report.already_current += 1
                continue
            try:
                new_token = reencrypt(token)
            except DecryptionFailed:
                report.unreadable.append(str(row_id))
                continue
            values = {column_name: new_token}
            if "updated_at" in table.c:
                # A new ciphertext is not a change anyone made: keep the timestamp.
                values["updated_at"] = table.c.updated_at
            db.session.execute(sa.update(table).where(table.c.id == row_id).values(**values))
            report.rotated += 1
        db.session.commit()
        last_id = rows[-1][0]


def _opens_with(key: Fernet, token: bytes) -> bool:
    try:
        key.decrypt(bytes(token))
    except InvalidToken:
        return False
    return True
