"""The centre's side of store-and-forward: taking a box's outbox rows into the central database.

The central database is a custodywatch database like any box's (same migrations); alerts go into
its `alerts` table (their ids already name the site and box), custody records, camera health and
signed chain heads into `central_*` tables keyed by site and box. Each box's rows are taken in
`seq` order within one transaction that also moves the box's cursor, so a batch lands whole or
not at all, and a row at or below the cursor (a batch sent again after a lost acknowledgement)
changes nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import ColumnElement, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from custodywatch.store.db import for_writing
from custodywatch.store.models import (
    Alert,
    AlertHistory,
    CentralBoxRow,
    CentralCameraHealthRow,
    CentralChainHeadRow,
    CentralCustodyRow,
    CentralReceiptRow,
)
from custodywatch.store.outbox import OutboxEntry, OutboxKind


class ForwardRejected(Exception):
    """A forwarded row the centre will not take (the message names the box, row and reason)."""


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CustodyPayload(_Payload):
    person: str
    room: str
    legal_basis: str
    extended: bool
    check_in: float
    release: float | None
    updated_at: float


class HealthPayload(_Payload):
    camera: str
    connected: bool
    fps_in: float
    fps_analysed: float
    dropped: int
    reconnects: int
    last_frame_at: float | None
    reported_at: float


class ChainHeadPayload(_Payload):
    archive_id: str
    at: float
    index_bytes: int
    index_sha256: str
    key: str
    signature: str


class CentralStore:
    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._clock = clock

    def last_seq(self, site_id: str, box_id: str) -> int:
        with self._reads() as session:
            row = session.get(CentralBoxRow, (site_id, box_id))
            return 0 if row is None else row.last_seq

    def take(self, site_id: str, box_id: str, entries: Iterable[OutboxEntry]) -> int:
        """Apply the box's rows after its cursor, in order; returns the cursor after them."""
        now = self._clock()
        with self._writes.begin() as session:
            session.execute(self._insert(CentralBoxRow).values(
                site_id=site_id, box_id=box_id, last_seq=0, first_seen_at=now, forwarded_at=now,
            ).on_conflict_do_nothing(index_elements=["site_id", "box_id"]))
            # FOR UPDATE: two forwarders claiming the same box (a copied config) take turns.
            cursor = session.scalars(select(CentralBoxRow).where(
                CentralBoxRow.site_id == site_id, CentralBoxRow.box_id == box_id).with_for_update()).one()
            for entry in sorted(entries, key=lambda e: e.seq):
                if entry.seq <= cursor.last_seq:
                    continue
                try:
                    self._apply(session, site_id, box_id, entry)
                except (ValidationError, KeyError, TypeError) as exc:
                    raise ForwardRejected(f"{site_id}/{box_id} outbox row {entry.seq} ({entry.kind}): "
                                          f"malformed payload: {exc}") from None
                session.add(CentralReceiptRow(site_id=site_id, box_id=box_id, seq=entry.seq, id=entry.id,
                                              kind=entry.kind.value, key=entry.key,
                                              created_at=entry.created_at, received_at=now))
                cursor.last_seq = entry.seq
            cursor.forwarded_at = now
            return cursor.last_seq

    def _apply(self, session: Session, site_id: str, box_id: str, entry: OutboxEntry) -> None:
        p = entry.payload
        if entry.kind == OutboxKind.ALERT:
            self._put_alert(session, site_id, box_id, entry)
        elif entry.kind == OutboxKind.CUSTODY:
            custody = CustodyPayload.model_validate(p)
            self._upsert(session, CentralCustodyRow, ["site_id", "box_id", "person", "check_in"],
                         {"site_id": site_id, "box_id": box_id, **custody.model_dump()})
        elif entry.kind == OutboxKind.HEALTH:
            health = HealthPayload.model_validate(p)
            self._upsert(session, CentralCameraHealthRow, ["site_id", "box_id", "camera"],
                         {"site_id": site_id, "box_id": box_id, **health.model_dump()})
        else:
            head = ChainHeadPayload.model_validate(p)
            # A signed head never changes: the first copy stays.
            session.execute(self._insert(CentralChainHeadRow).values(
                site_id=site_id, box_id=box_id, **head.model_dump()
            ).on_conflict_do_nothing(index_elements=["site_id", "box_id", "archive_id", "index_bytes"]))

    def _put_alert(self, session: Session, site_id: str, box_id: str, entry: OutboxEntry) -> None:
        values = {c.key: entry.payload[c.key] for c in Alert.__table__.columns}
        if (values["site_id"], values["box_id"]) != (site_id, box_id):
            raise ForwardRejected(f"{site_id}/{box_id} outbox row {entry.seq}: alert {entry.key!r} belongs "
                                  f"to {values['site_id']}/{values['box_id']}")
        statement = self._insert(Alert).values(**values)
        # The site/box condition keeps one box from overwriting another's alert under the same id.
        result = session.execute(statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in values if k != "id"},
            where=(Alert.site_id == site_id) & (Alert.box_id == box_id)))
        if getattr(result, "rowcount", 1) == 0:
            raise ForwardRejected(f"{site_id}/{box_id} outbox row {entry.seq}: alert {entry.key!r} is "
                                  "already held for another box")
        session.execute(delete(AlertHistory).where(AlertHistory.alert_id == values["id"]))
        session.add_all(AlertHistory(alert_id=values["id"], at=h["at"], kind=h["kind"],
                                     severity=h["severity"], actor=h["actor"], comment=h["comment"])
                        for h in entry.payload["history"])

    def _upsert(self, session: Session, table: Any, keys: list[str], values: dict[str, Any]) -> None:
        statement = self._insert(table).values(**values)
        session.execute(statement.on_conflict_do_update(
            index_elements=keys, set_={k: statement.excluded[k] for k in values if k not in keys}))

    # ---- reading: the supervision room's boards ------------------------------------------------

    def boxes(self) -> list[CentralBoxRow]:
        with self._reads() as session:
            rows = list(session.scalars(select(CentralBoxRow).order_by(CentralBoxRow.site_id,
                                                                       CentralBoxRow.box_id)))
            session.expunge_all()
            return rows

    def alerts_taken(self, site_id: str, box_id: str, after_seq: int, up_to_seq: int,
                     limit: int) -> list[tuple[int, str]]:
        """(seq, alert id) of the box's alert rows taken in (after_seq, up_to_seq], in order."""
        row = CentralReceiptRow
        query = (select(row.seq, row.key)
                 .where(row.site_id == site_id, row.box_id == box_id, row.kind == OutboxKind.ALERT.value,
                        row.seq > after_seq, row.seq <= up_to_seq)
                 .order_by(row.seq).limit(limit))
        with self._reads() as session:
            return [(seq, key) for seq, key in session.execute(query)]

    def custody(self, released_since: float, site: str | None = None) -> list[CentralCustodyRow]:
        """Every box's open custody records, and those released since `released_since`."""
        row = CentralCustodyRow
        where: list[ColumnElement[bool]] = [(row.release.is_(None)) | (row.release >= released_since)]
        if site is not None:
            where.append(row.site_id == site)
        with self._reads() as session:
            rows = list(session.scalars(select(row).where(*where)
                                        .order_by(row.site_id, row.box_id, row.check_in)))
            session.expunge_all()
            return rows

    def camera_health(self, site: str | None = None) -> list[CentralCameraHealthRow]:
        row = CentralCameraHealthRow
        where = [] if site is None else [row.site_id == site]
        with self._reads() as session:
            rows = list(session.scalars(select(row).where(*where)
                                        .order_by(row.site_id, row.box_id, row.camera)))
            session.expunge_all()
            return rows
