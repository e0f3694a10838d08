"""The people an alert's snapshot shows: analytics stores the boxes of the analysed frame nearest the
fire time with the alert; the recorder draws them on the snapshot it cuts from the recording."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from custodywatch.rules.person_boxes import PersonBox
from custodywatch.store.db import for_writing
from custodywatch.store.models import AlertBoxesRow


@dataclass(frozen=True)
class AlertBoxes:
    alert_id: str
    camera: str
    at: float  # the analysed frame's time
    boxes: list[PersonBox]


class AlertBoxStore:
    def __init__(self, engine: Engine):
        self._reads = sessionmaker(engine)
        self._writes = sessionmaker(for_writing(engine))

    def save(self, alert_id: str, camera: str, at: float, boxes: Sequence[PersonBox]) -> None:
        """Once per alert: its first firing's frame (a replayed event keeps what was stored)."""
        with self._writes.begin() as session:
            if session.get(AlertBoxesRow, alert_id) is None:
                session.add(AlertBoxesRow(alert_id=alert_id, camera=camera, at=at,
                                          boxes=json.dumps([b.to_dict() for b in boxes])))

    def get(self, alert_id: str) -> AlertBoxes | None:
        with self._reads() as session:
            row = session.get(AlertBoxesRow, alert_id)
            if row is None:
                return None
            return AlertBoxes(row.alert_id, row.camera, row.at,
                              [PersonBox.from_dict(d) for d in json.loads(row.boxes)])
