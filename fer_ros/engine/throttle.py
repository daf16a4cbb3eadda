"""Rate limit for a warning that can repeat every frame (a looping bag, a camera with a bad clock).

``Throttle.due()`` says whether to log now and how many occurrences were held back since the
last record, so the log shows one line per period with a count instead of one per frame.
"""

from __future__ import annotations

from time import monotonic


class Throttle:
    """At most one record per ``period`` seconds of the monotonic clock."""

    def __init__(self, period: float):
        self.period = period
        self._last: float | None = None
        self._held = 0

    def due(self) -> int | None:
        """None: hold this occurrence back (counted). An int: log now; occurrences held back since the last record."""
        now = monotonic()
        if self._last is not None and now - self._last < self.period:
            self._held += 1
            return None
        held, self._held, self._last = self._held, 0, now
        return held
