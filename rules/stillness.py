"""Whether the guard at one camera's post looks asleep: motionless, and not sitting up.

Fed each analysed frame's motion energy of the people in the guard post (motion.py) and, now and
then, their posture (posture.py, when a pose model is configured). Any movement above
STILL_MAX_ENERGY ends stillness at once: a guard who reads turns pages and leans, one who types
moves their hands. A fresh upright posture also vetoes "asleep": someone sitting up reading
without a visible movement is awake. Reports StillChange with observed times.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from custodywatch.rules.changes import StillChange
from custodywatch.rules.posture import Posture

STILL_MAX_ENERGY = 0.005  # share of the box's pixels that changed between two frames
POSTURE_VALID_S = 60.0  # a posture reading counts this long (the pose model runs now and then)


class GuardStillness:
    def __init__(self, camera: str):
        self.camera = camera
        self._still_since: float | None = None  # first frame of the current motionless run
        self._awake_until = -math.inf  # an upright posture vetoes "asleep" until then
        self._reported: bool | None = None

    def observe(self, t: float, energies: Sequence[float]) -> list[StillChange]:
        """The motion energies of the people in the guard post on the frame at `t`."""
        measured = [e for e in energies if not math.isnan(e)]
        if not measured:
            return self._report(t)  # nobody measured: stillness goes on as it was
        if max(measured) > STILL_MAX_ENERGY:
            self._still_since = None
        elif self._still_since is None:
            self._still_since = t
        return self._report(t)

    def observe_posture(self, t: float, posture: Posture) -> list[StillChange]:
        if posture is Posture.UPRIGHT:
            self._awake_until = t + POSTURE_VALID_S
        elif posture is Posture.SLUMPED:
            self._awake_until = min(self._awake_until, t)
        return self._report(t)

    def _report(self, t: float) -> list[StillChange]:
        asleep = self._still_since is not None and t >= self._awake_until
        if asleep == self._reported:
            return []
        self._reported = asleep
        if not asleep or self._still_since is None:
            return [StillChange(self.camera, False, t)]
        return [StillChange(self.camera, True, max(self._still_since, self._awake_until))]

    def state(self) -> dict[str, Any]:
        return {"still_since": self._still_since, "awake_until": self._awake_until
                if math.isfinite(self._awake_until) else None, "reported": self._reported}

    def load_state(self, d: dict[str, Any]) -> None:
        self._still_since, self._reported = d.get("still_since"), d.get("reported")
        awake = d.get("awake_until")
        self._awake_until = -math.inf if awake is None else float(awake)
