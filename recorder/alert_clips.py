"""Clips for alerts: a first clip seconds after an alert fires, a final one when it ends.

First clip: from `pre_roll_s` before the condition began to `post_roll_s` after the alert fired,
cut as soon as that much has been recorded (the segment being written is readable up to its last
fragment). Final clip: from the same start to `post_roll_s` after the alert ended, capped at
`final_clip_max_s`; `clip.json` says where the recording continues beyond the cap.
Files: `<clips>/<alert id>/first.mp4`, `final.mp4`, `snapshot.jpg` (the frame at the fire time, with
the people analytics saw in its frame nearest that time outlined and labelled with their roles),
`clip.json`.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import sessionmaker

from custodywatch.config import RecorderConfig
from custodywatch.recorder.clips import Clip, ClipError, cut_clip, snapshot
from custodywatch.recorder.index import ArchiveIndex
from custodywatch.store.alert_boxes import AlertBoxStore
from custodywatch.store.models import Alert

log = logging.getLogger("custodywatch.recorder.clips")

# The first try: a camera with a longer keyframe interval has not written the end yet, and is tried
# again on later polls.
READY_MARGIN_S = 1.5
LOOKBACK_S = 86400.0  # alerts older than this when the recorder starts are not clipped again
RETRY_S = 60.0
STORE_LAG_S = 60.0  # slack for the clocks of the process that stored an alert and this one


class AlertClipper:
    def __init__(self, engine: Engine, index: ArchiveIndex, clips_dir: Path, settings: RecorderConfig):
        self._reads = sessionmaker(engine)
        self._boxes = AlertBoxStore(engine)
        self.index = index
        self.clips_dir = clips_dir
        self.settings = settings
        self._failed: set[tuple[str, str]] = set()
        self._done: dict[str, float] = {}  # alert id -> created_at, of alerts with nothing left to cut
        # Every alert stored before this has all its clips: the next poll reads from here on, so a
        # poll costs the alerts still open, not every alert of the last day (it polls every second).
        # By the time stored, not fired: an alert written late (after a database outage) carries
        # its own, earlier fire time, and must still get its clips.
        self._since = float("-inf")

    def poll(self, now: float) -> list[Path]:
        """Cut every clip that is due; returns the files written."""
        s = self.settings
        made: list[Path] = []
        with self._reads() as session:
            due = session.execute(
                select(Alert.id, Alert.camera, Alert.condition_started_at, Alert.fired_at, Alert.ended_at,
                       Alert.created_at)
                .where(Alert.fired_at >= now - LOOKBACK_S, Alert.created_at >= self._since,
                       or_(Alert.fired_at + s.post_roll_s + READY_MARGIN_S <= now,
                           Alert.ended_at + s.post_roll_s + READY_MARGIN_S <= now))).all()
        open_since: list[float] = []
        for alert_id, camera, condition_started_at, fired_at, ended_at, created_at in due:
            if alert_id in self._done:
                continue
            folder = self.clips_dir / alert_id
            start = condition_started_at - s.pre_roll_s
            if not (folder / "first.mp4").exists():
                clip = self._cut(alert_id, "first", camera, start, fired_at + s.post_roll_s, now)
                if clip is not None:
                    made.append(clip.path)
                    made.extend(self._snapshot(alert_id, clip, fired_at, folder))
            if ended_at is not None and ended_at + s.post_roll_s + READY_MARGIN_S <= now \
                    and not (folder / "final.mp4").exists():
                end = min(ended_at + s.post_roll_s, start + s.final_clip_max_s)
                clip = self._cut(alert_id, "final", camera, start, end, now)
                if clip is not None:
                    made.append(clip.path)
                    self._describe(folder, clip, ended_at + s.post_roll_s)
            if (folder / "final.mp4").exists() or (alert_id, "final") in self._failed:
                self._done[alert_id] = created_at  # nothing more to cut for it
                self._failed -= {(alert_id, "first"), (alert_id, "final")}
            else:
                open_since.append(created_at)
        # One stored after this may not be due yet (it is stored once it fires); every one stored
        # before it was in `due`.
        self._since = min([now - s.post_roll_s - READY_MARGIN_S - STORE_LAG_S, *open_since])
        self._done = {a: stored for a, stored in self._done.items() if stored >= self._since}
        return made

    def prune(self, now: float, max_age_s: float) -> list[str]:
        """Remove the clip folders of alerts older than the longest retention: clips are copies cut
        from the archive (which keeps held footage and can be cut again), not evidence of their own."""
        removed: list[str] = []
        if not self.clips_dir.is_dir():
            return removed
        for folder in sorted(self.clips_dir.iterdir()):
            if folder.is_dir() and folder.stat().st_mtime < now - max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
                log.info("removed the clips of alert %s (older than the retention)", folder.name)
        return removed

    def _cut(self, alert_id: str, kind: str, camera: str, start: float, end: float,
             now: float) -> Clip | None:
        if (alert_id, kind) in self._failed:
            return None
        out = self.clips_dir / alert_id / f"{kind}.mp4"
        # The recording may lag (a reconnect, a recorder that just started): try again on later polls
        # until RETRY_S after the clip's end, then keep what there is.
        patient = now < end + RETRY_S
        try:
            clip = cut_clip(self.index, camera, start, end, out)
        except ClipError as exc:
            if not patient:
                log.warning("alert %s: no %s clip: %s", alert_id, kind, exc)
                self._failed.add((alert_id, kind))
            return None
        hole = clip.hole
        if hole is not None:
            ends_early = hole.start >= clip.start
            # A hole that ends the clip and no gap explains is footage not written yet (the segment
            # being written is readable up to its last fragment): wait for it rather than cut the
            # post-roll short.
            if ends_early and hole.cause == "not recorded" and patient:
                out.unlink()
                return None
            log.warning("alert %s: %s clip %s a gap (%s)", alert_id, kind,
                        "ends at" if ends_early else "starts after", hole.cause)
        log.info("alert %s: %s clip %s", alert_id, kind, clip.path)
        return clip

    def _snapshot(self, alert_id: str, clip: Clip, at: float, folder: Path) -> list[Path]:
        seen = self._boxes.get(alert_id)  # none for an alert without sight of people (video_loss)
        try:
            return [snapshot(clip.path, at - clip.start, folder / "snapshot.jpg",
                             [] if seen is None else seen.boxes)]
        except ClipError as exc:
            log.warning("%s", exc)
            return []

    def _describe(self, folder: Path, clip: Clip, wanted_end: float) -> None:
        info = {"start": clip.start, "end": clip.end, "camera": clip.camera,
                "continues_in_recording": wanted_end > clip.end + 0.5,
                "recording": {"camera": clip.camera, "from": clip.end, "to": wanted_end},
                "hole": None if clip.hole is None else {"start": clip.hole.start, "end": clip.hole.end,
                                                        "cause": clip.hole.cause}}
        (folder / "clip.json").write_text(json.dumps(info, indent=2) + "\n")
