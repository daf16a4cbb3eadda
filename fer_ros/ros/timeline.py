"""Image stamps of one camera over time: in order, a little out of order, or a jump back.

Cameras and drivers jitter: a frame stamped 1 ms before the previous one is not a new
timeline, and ending every face for it would lose their state and split their intervals.
A bag played with ``--loop``, or a ``use_sim_time`` clock that restarts, is one: the open
intervals must close (reason "time jump") before the tracks restart. ``StampGuard`` tells
them apart for the node and the bag runner alike, before a frame reaches the engine:

- ``IN_ORDER``: not earlier than the newest accepted stamp: process it.
- ``JITTER``: earlier by at most ``jitter`` seconds: drop it (the newer frame was already
  processed; a reordered frame would only move the face's state backwards) and reset nothing.
- ``JUMP``: earlier by more: a new timeline. Close the open intervals and reset, then process.

Stamps are integer nanoseconds (as the messages carry them), so 1 ms is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

IN_ORDER, JITTER, JUMP = "in order", "jitter", "jump"
# Backward jitter tolerated by default, seconds: well above a driver's reordering or clock
# adjustment (milliseconds), well below a bag loop (the bag's length, seconds at least).
DEFAULT_JITTER = 0.5


@dataclass
class StampGuard:
    jitter: float = DEFAULT_JITTER  # seconds a stamp may fall back without being a new timeline
    newest: int | None = None  # ns: the newest stamp accepted since the last reset

    def classify(self, stamp_ns: int) -> str:
        """IN_ORDER, JITTER or JUMP for a frame stamped ``stamp_ns`` (nothing is recorded)."""
        if self.newest is None or stamp_ns >= self.newest:
            return IN_ORDER
        return JITTER if self.newest - stamp_ns <= round(self.jitter * 1e9) else JUMP

    def accept(self, stamp_ns: int) -> None:
        """The engine took a frame with this stamp."""
        self.newest = stamp_ns if self.newest is None else max(self.newest, stamp_ns)

    def reset(self) -> None:
        """A new timeline (after a jump, a silent camera or a restart): any next stamp is in order."""
        self.newest = None

    def behind(self, stamp_ns: int) -> float:
        """Seconds ``stamp_ns`` lies before the newest accepted stamp (0 when not behind)."""
        return 0.0 if self.newest is None else max(0.0, (self.newest - stamp_ns) * 1e-9)
