"""A store seeded with known alerts and custody records around one 8-hour period, and the figures a
person computes from them by hand."""
from __future__ import annotations

from sqlalchemy import Engine

from custodywatch.rules.custody import CustodyRecord
from custodywatch.rules.events import AlertEvent
from custodywatch.store.alerts import AlertStore
from custodywatch.store.rules_state import RulesStateStore
from custodywatch.vocabulary import RuleId, Severity

T = 1_800_000_000.0  # the period's start
END = T + 8 * 3600
I1, H1 = "interrogation-1", "holding-1"
P2 = "p2 王芳"  # a name in Chinese: the PDF must print it, and keep its table's columns aligned


def seed(engine: Engine) -> None:
    now = [T]
    store = AlertStore(engine, "zh-center", "box1", clock=lambda: now[0])

    def event(kind: str, alert_id: str, rule: RuleId, room: str, camera: str, severity: Severity,
              condition: float, at: float) -> None:
        now[0] = at
        store.apply(AlertEvent(kind, alert_id, rule, room, camera, severity, condition, at))  # type: ignore[arg-type]

    def at(t: float) -> AlertStore:
        now[0] = t
        return store

    so, ga, vl = RuleId.SINGLE_OFFICER, RuleId.GUARD_ABSENT, RuleId.VIDEO_LOSS
    alarm, warning = Severity.ALARM, Severity.WARNING
    # a1: acknowledged 30 s after firing, resolved, ended
    event("fired", "a1", so, I1, "cam-i1", alarm, T + 100, T + 160)
    at(T + 190).acknowledge("a1", "desk")
    event("ended", "a1", so, I1, "cam-i1", alarm, T + 100, T + 400)
    at(T + 500).resolve("a1", "desk", "handled")
    # a2: acknowledged after 90 s, ended, never resolved
    event("fired", "a2", so, I1, "cam-i1", alarm, T + 940, T + 1000)
    at(T + 1090).acknowledge("a2", "desk")
    event("ended", "a2", so, I1, "cam-i1", alarm, T + 940, T + 1200)
    # a3: a warning escalated to alarm, still active, nobody responded
    event("fired", "a3", ga, H1, "cam-h1", warning, T + 1940, T + 2000)
    event("escalated", "a3", ga, H1, "cam-h1", alarm, T + 1940, T + 2060)
    # v1: 10 minutes of lost video, resolved (not acknowledged) 30 s after firing
    event("fired", "v1", vl, H1, "cam-h1", alarm, T + 3000, T + 3020)
    at(T + 3050).resolve("v1", "desk", "camera being checked")
    event("ended", "v1", vl, H1, "cam-h1", alarm, T + 3000, T + 3600)
    # v2: lost from 5 min before the period to 2 min into it (fired before: not an alert of the period)
    event("fired", "v2", vl, I1, "cam-i1", alarm, T - 300, T - 280)
    at(T - 200).acknowledge("v2", "desk")
    event("ended", "v2", vl, I1, "cam-i1", alarm, T - 300, T + 120)
    # v3: lost for the period's last minute, still lost at its end
    event("fired", "v3", vl, I1, "cam-i1", alarm, END - 60, END - 40)
    # the day before, ended then, never seen to: handed over, but no figure of the period
    event("fired", "old", so, I1, "cam-i1", alarm, T - 86400, T - 86340)
    event("ended", "old", so, I1, "cam-i1", alarm, T - 86400, T - 86000)
    # after the period: not in it
    event("fired", "late", so, I1, "cam-i1", alarm, END + 3600, END + 3660)

    custody = RulesStateStore(engine)
    custody.put_custody(CustodyRecord("p1 Zhang", I1, "questioning", False, T - 3600, T + 7200))
    custody.put_custody(CustodyRecord(P2, H1, "summons", False, T + 3600, None))
    custody.put_custody(CustodyRecord("p3", H1, "questioning", False, T - 25200, None))
    custody.put_custody(CustodyRecord("p4", H1, "questioning", False, T - 20000, T - 100))


# By hand. Alerts fired in the period: a1, a2 (single_officer, interrogation-1), a3 (guard_absent,
# holding-1), v1 (holding-1), v3 (interrogation-1). Responses: 30, 90 and 50 s.
ALERTS = [
    ["holding-1", "guard_absent", "1", "1", "0", "1", "", ""],
    ["holding-1", "video_loss", "1", "1", "1", "0", "30.0", "30.0"],
    ["interrogation-1", "single_officer", "2", "2", "2", "0", "60.0", "90.0"],
    ["interrogation-1", "video_loss", "1", "1", "0", "1", "", ""],
]
VIDEO_LOSS = [
    ["holding-1", "cam-h1", "1", "10.0"],  # v1: 600 s
    ["interrogation-1", "cam-i1", "2", "3.0"],  # v2: 120 s inside, v3: 60 s
]
# p1: 2 h inside of 3 h; p2: 7 h; p3: held 7 h before + 8 h = 15 h, past its 8 h limit; p4 released before
CUSTODY_MINUTES = {"p1 Zhang": ("120.0", "180.0", "480.0", "no"), P2: ("420.0", "420.0", "720.0", "no"),
                   "p3": ("480.0", "900.0", "480.0", "yes")}
SUMMARY = {"alerts": "5", "alarms": "5", "acknowledged": "3", "mean_ack_s": "50.0",
           "video_loss_minutes": "13.0", "custody_records": "3"}
# unresolved at the end: a2 (acknowledged, ended), a3 (active), v2 (acknowledged, ended), v3 (active),
# and yesterday's "old"
HANDOVER = {"a2": ("acknowledged", "no"), "a3": ("new", "yes"), "v2": ("acknowledged", "no"),
            "v3": ("new", "yes"), "old": ("new", "no")}
