"""When a CPE informs: the retry wait after a failed session (TR-069
§3.2.1.1) and the periodic schedule. Pure arithmetic, shared by the agent
and the fleet simulator; what it is not: timers (the loop's)."""

import math
import random


def retry_wait(n, m=5, k=2000, rng=random):
    """Seconds to wait before retry number ``n`` (1-based), TR-069 §3.2.1.1:
    uniform in [m * (k/1000)^(n-1), m * (k/1000)^n], n capped at 10."""
    n = max(1, min(n, 10))
    f = k / 1000.0
    return rng.uniform(m * f ** (n - 1), m * f ** n)


def next_periodic(now, interval, phase):
    """Seconds from wall-clock ``now`` to the next periodic Inform.

    ``phase`` is PeriodicInformTime as epoch seconds, or None for Unknown
    Time. Informs happen at phase + N * interval, strictly after now.
    """
    if phase is None:
        return float(interval)
    n = math.floor((now - phase) / interval) + 1
    return phase + n * interval - now
