"""The audit trail: who did what to which record. Never message content."""
from __future__ import annotations

from sqlalchemy.orm import Session

from models.messaging import AuditLog


def audit(session: Session, actor_id: int | None, action: str, entity: str, entity_id: int | None) -> None:
    session.add(AuditLog(actor_id=actor_id, action=action, entity=entity, entity_id=entity_id))
