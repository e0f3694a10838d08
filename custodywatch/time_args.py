"""Times given on the command line: ISO-8601, or relative to now as `+N` / `-N` with a unit."""
from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

_RELATIVE = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class TimeArgError(ValueError):
    pass


def parse_time(flag: str, text: str, now: float, zone: tzinfo = UTC) -> float:
    """Epoch seconds of `text`: ISO-8601 (a time without a zone is in `zone`), or `+2h`, `-30m`, ...
    from `now`. The error names the flag."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return now + sign * float(relative.group(2)) * _UNIT_S[relative.group(3)]
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimeArgError(f"{flag}: {text!r} is neither an ISO-8601 date-time nor +N/-N[s|m|h|d]") from None
    return (at if at.tzinfo is not None else at.replace(tzinfo=zone)).timestamp()
