"""The per-period report and the shift summary: alerts per room and rule with their time to
acknowledge, video loss minutes per camera, and custody times, as plain tables that the CSV and PDF
writers (report_csv.py, report_pdf.py) lay out.

Definitions (docs/operations.md):
- an alert belongs to the period it *fired* in; `ack_s` is the time from firing to the first
  operator response (acknowledged, or resolved without acknowledging), for those that had one;
- video loss minutes are the time each video_loss alert's condition held (from when the picture was
  lost until it came back, or the period's end) inside the period: losses shorter than the rule's
  threshold raise no alert and are not counted;
- custody minutes are each record's time held inside the period, and in all (until release or the
  period's end); `over_limit` compares the whole time with the legal basis' limit.
A shift summary adds what is handed over: alerts still unresolved at the period's end.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from statistics import mean

from custodywatch.config import CustodyConfig
from custodywatch.report_data import AlertFacts, PeriodData
from custodywatch.rules.custody import limit_s
from custodywatch.vocabulary import RuleId, Severity

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    key: str  # a stable name for machines (the CSV's section)
    title: str
    columns: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Report:
    title: str
    tables: list[Table]


class WhenFormat:
    """Times as the site reads them: ISO-8601 in the site's time zone, to the second."""

    def __init__(self, zone: tzinfo = UTC):
        self.zone = zone

    def __call__(self, t: float) -> str:
        return datetime.fromtimestamp(t, self.zone).isoformat(timespec="seconds")


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _response_at(a: AlertFacts) -> float | None:
    times = [t for t in (a.acknowledged_at, a.resolved_at) if t is not None]
    return min(times) if times else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _alert_table(fired: list[AlertFacts]) -> Table:
    groups: dict[tuple[str, str], list[AlertFacts]] = defaultdict(list)
    for a in fired:
        groups[(a.room, a.rule)].append(a)
    rows: list[list[Cell]] = []
    for (room, rule), alerts in sorted(groups.items()):
        ack = [t - a.fired_at for a in alerts if (t := _response_at(a)) is not None]
        alarms = sum(a.severity == Severity.ALARM for a in alerts)
        rows.append([room, rule, len(alerts), alarms, len(ack), len(alerts) - len(ack),
                     _round(mean(ack)) if ack else None, _round(max(ack, default=None))])
    return Table("alerts", "Alerts by room and rule", ["room", "rule", "alerts", "alarms", "acknowledged",
                                                      "unacknowledged", "mean_ack_s", "max_ack_s"], rows)


def _video_loss_table(data: PeriodData) -> Table:
    minutes: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for a in data.alerts:
        if a.rule != RuleId.VIDEO_LOSS:
            continue
        held = _overlap(a.condition_started_at, data.end if a.ended_at is None else a.ended_at,
                        data.start, data.end)
        if held > 0:
            minutes[(a.room, a.camera)] += held / 60
            counts[(a.room, a.camera)] += 1
    rows: list[list[Cell]] = [[room, camera, counts[(room, camera)], _round(m, 2)]
                              for (room, camera), m in sorted(minutes.items())]
    return Table("video_loss", "Video loss by camera", ["room", "camera", "losses", "minutes"], rows)


def _custody_table(data: PeriodData, custody: CustodyConfig, when: WhenFormat) -> Table:
    rows: list[list[Cell]] = []
    for r in sorted(data.custody, key=lambda r: (r.room, r.check_in, r.person)):
        until = data.end if r.release is None or r.release > data.end else r.release
        total = until - r.check_in
        limit = limit_s(r, custody) if r.legal_basis in custody.limits_s else None
        rows.append([r.room, r.person, r.legal_basis, when(r.check_in),
                     None if r.release is None or r.release > data.end else when(r.release),
                     _round(_overlap(r.check_in, until, data.start, data.end) / 60), _round(total / 60),
                     None if limit is None else _round(limit / 60),
                     None if limit is None else ("yes" if total > limit else "no")])
    return Table("custody", "Custody", ["room", "person", "legal_basis", "check_in", "release",
                                        "minutes_in_period", "minutes_total", "limit_minutes", "over_limit"],
                 rows)


def _open_table(data: PeriodData, when: WhenFormat) -> Table:
    rows: list[list[Cell]] = []
    for a in data.alerts:
        if a.fired_at >= data.end or (a.resolved_at is not None and a.resolved_at <= data.end):
            continue
        acked = a.acknowledged_at is not None and a.acknowledged_at <= data.end
        active = a.ended_at is None or a.ended_at > data.end
        rows.append([a.room, a.rule, a.severity, when(a.fired_at), "acknowledged" if acked else "new",
                     "yes" if active else "no", a.id])
    return Table("handover", "Unresolved at the end of the shift",
                 ["room", "rule", "severity", "fired_at", "state", "active", "alert_id"], rows)


def build_report(data: PeriodData, *, shift: bool = False, custody: CustodyConfig | None = None,
                 zone: tzinfo = UTC, site: str = "", generated_at: float | None = None) -> Report:
    when = WhenFormat(zone)
    fired = [a for a in data.alerts if data.start <= a.fired_at < data.end]
    video_loss = _video_loss_table(data)
    responded = [t - a.fired_at for a in fired if (t := _response_at(a)) is not None]
    summary: list[list[Cell]] = [
        ["site", site], ["from", when(data.start)], ["to", when(data.end)],
        ["alerts", len(fired)], ["alarms", sum(a.severity == Severity.ALARM for a in fired)],
        ["acknowledged", len(responded)],
        ["mean_ack_s", _round(mean(responded)) if responded else None],
        ["video_loss_minutes", _round(sum(float(r[3] or 0) for r in video_loss.rows), 2)],
        ["custody_records", len(data.custody)],
    ]
    if generated_at is not None:
        summary.append(["generated", when(generated_at)])
    tables = [Table("summary", "Summary", ["figure", "value"], summary), _alert_table(fired), video_loss,
              _custody_table(data, custody or CustodyConfig(), when)]
    if shift:
        tables.append(_open_table(data, when))
    kind = "Shift summary" if shift else "Period report"
    return Report(f"{kind} {when(data.start)} to {when(data.end)}", tables)
