"""The audit log: who changed what, append-only. Whoever performs an action records it in the
same transaction, so an action and its entry are written together or not at all:

    record(session, actor.name, AuditAction.PROMOTE, f"model_version:{vid}", {"from": old_id})
"""

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import Permission
from curation.errors import CurationError
from curation.redaction import redact_value
from db.models import AuditEntry

FORMATS = ("jsonl", "csv")
COLUMNS = ("id", "created_at", "actor", "action", "target", "details")


def record(session: Session, actor: str, action: str, target: str | None, details: dict[str, Any]) -> None:
    """Add an entry; secret-looking values in details are masked before they are stored."""
    session.add(AuditEntry(actor=actor, action=str(action), target=target, details=redact_value(details)))
    session.flush()


def origin(who: HasRole) -> dict[str, Any]:
    """Where who's action came from, to add to its audit details ({} for the app's own users)."""
    return dict(getattr(who, "origin", None) or {})


def list_audit(
    session: Session, who: HasRole, *, action: str | None = None, actor: str | None = None,
    since: datetime | None = None, limit: int | None = 500,
) -> list[dict[str, Any]]:
    """Entries newest first, optionally filtered; admins only."""
    require(who, Permission.VIEW_AUDIT)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since:
        query = query.where(AuditEntry.created_at >= since)
    return [_row(entry) for entry in session.scalars(query)]


def export_audit(session: Session, who: HasRole, format: str) -> tuple[str, int]:
    """The whole log oldest first as JSON lines or CSV text, and the number of entries."""
    if format not in FORMATS:
        raise CurationError(f"unknown audit export format '{format}'; use one of {', '.join(FORMATS)}")
    rows = list(reversed(list_audit(session, who, limit=None)))
    out = io.StringIO()
    if format == "jsonl":
        out.writelines(json.dumps(row, default=str) + "\n" for row in rows)
    else:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(row | {"details": json.dumps(row["details"])} for row in rows)
    return out.getvalue(), len(rows)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {column: getattr(entry, column) for column in COLUMNS}
