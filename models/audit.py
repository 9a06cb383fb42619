"""The audit trail: who did what to which record. Never message content.

A row is written at once with a Core INSERT, not added to the session: an audit row is never
read back in the same transaction, and the unit of work would spend more on it than the INSERT."""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models.messaging import AuditLog

_INSERT = insert(AuditLog.__table__)


def audit(session: Session, actor_id: int | None, action: str, entity: str, entity_id: int | None) -> None:
    session.connection().execute(_INSERT, {"actor_id": actor_id, "action": action, "entity": entity,
                                           "entity_id": entity_id})
