"""Time formats of CWMP: dateTime values in and out.

The one home of time parsing and formatting; no clocks are kept here.
"""

import time


def parse_datetime(s):
    """ISO 8601 -> epoch seconds (with their fraction), None for empty /
    Unknown Time / relative."""
    s = (s or "").strip()
    if not s or s.startswith("0001-01-01"):
        return None  # the usual case: no import of calendar (and datetime, locale) at start
    import calendar
    import re
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = float(m.group(7)) if m.group(7) else 0
    if y < 1000:
        return None  # relative to boot (TR-106 3.2): no absolute phase
    t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) + frac  # fractions kept: the ACS's grid
    tz = m.group(8)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        t -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return t


def iso_now(t=None):
    """Local time with UTC offset, as TR-069 wants CurrentTime."""
    t = time.time() if t is None else t
    lt = time.localtime(t)
    off = lt.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + "%s%02d:%02d" % (sign, off // 3600, off % 3600 // 60)
