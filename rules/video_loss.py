"""video_loss: a camera that no longer shows its room (sight.py says when and why).

`VideoLossRule` (one per camera) alarms when a loss lasts its threshold (20 s by default) and ends
when the picture comes back, or when a maintenance window covers the camera (rules/maintenance.py):
a camera being serviced raises nothing, and one still dark at the window's end counts its loss from
that end. While any camera of a room is lost the room is blind: rules that
need sight are suspended (see threshold.py).
"""
from __future__ import annotations

from custodywatch.rules.room import RoomObservation
from custodywatch.rules.threshold import Level, ThresholdRule
from custodywatch.vocabulary import RuleId, Severity


class VideoLossRule(ThresholdRule):
    """One camera's picture lost for the threshold (20 s by default); ends when it is back."""

    rule_id = RuleId.VIDEO_LOSS
    default_levels = (Level(Severity.ALARM, 20.0),)
    needs_sight = False

    def __init__(self, levels: list[Level], clear_s: float = 0.0, cooldown_s: float = 0.0,
                 gap_s: float = 0.0, *, camera: str = ""):
        super().__init__(levels, clear_s, cooldown_s, gap_s)
        self.camera = camera
        self.subject = camera
        self._reason = ""

    def holds(self, obs: RoomObservation) -> bool:
        if self.camera in obs.lost and self.camera not in obs.maintained:
            self._reason = obs.lost[self.camera]
            return True
        return False

    def detail(self) -> str:
        return f"{self.camera}: {self._reason}" if self._reason else self.camera
