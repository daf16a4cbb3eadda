"""One input stream of the node (a camera topic, or one face's aligned crops): its engine, its
stamps, its counters and the throttle of its warnings.

Everything here is plain state: the node's lock guards the fields the executor threads touch
(``pending``, the counters, ``last_frame``, the requests); the engine and the publishing
state are used by the worker thread only.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field, fields

from fer_ros.engine import Engine

from .messages import StampBook
from .timeline import StampGuard

WARN_PERIOD = 5.0  # seconds between two log lines of one kind for one camera
SAMPLES = 1000  # latency samples kept per diagnostics period (a 30 Hz camera fills 33 s)


@dataclass
class Counters:
    """Frames of one camera since it was created (the node's lock guards them)."""

    received: int = 0
    processed: int = 0
    dropped: int = 0  # a newer frame arrived before the worker took it: only the newest counts
    bad: int = 0  # could not be decoded, or the engine refused it
    failed: int = 0  # the engine raised
    lost: int = 0  # gaps in the publisher's sequence numbers: never reached the node
    out_of_order: int = 0  # stamped up to stamp_jitter before the newest: dropped, nothing reset
    time_jumps: int = 0  # stamped further back: intervals closed ("time jump"), tracks reset

    def minus(self, other: Counters) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(Counters)})

    def copy(self) -> Counters:
        return Counters(**{f.name: getattr(self, f.name) for f in fields(Counters)})


class Throttle:
    """At most one log line per kind every ``period`` seconds, with a count of those held back."""

    def __init__(self, period: float = WARN_PERIOD):
        self.period = period
        self._last: dict[str, tuple[float, int]] = {}

    def __call__(self, kind: str, text: str) -> str | None:
        """The line to log now (with the held-back count), or None to hold it back."""
        now = time.monotonic()
        last, held = self._last.get(kind, (-math.inf, 0))
        if now - last < self.period:
            self._last[kind] = (last, held + 1)
            return None
        self._last[kind] = (now, 0)
        return text + (f" ({held} more like it in the last {self.period:g} s)" if held else "")


@dataclass
class Camera:
    topic: str  # the input topic, fully resolved: what /diagnostics and the logs name
    engine: Engine | None = None
    outputs: object = None  # the node's output publishers of this camera (shared when namespaces coincide)
    upstream_id: str = ""  # ros4hri input: the detector's face id (our outputs reuse it)
    subscription: object = None
    stamps: StampBook = field(default_factory=StampBook)
    guard: StampGuard = field(default_factory=StampGuard)
    throttle: Throttle = field(default_factory=Throttle)
    # guarded by the node's lock
    pending: tuple | None = None  # (message, monotonic receive time): the newest unprocessed frame
    counts: Counters = field(default_factory=Counters)
    reported: Counters = field(default_factory=Counters)  # counts at the last diagnostics message
    last_seq: int | None = None
    last_frame: float | None = None  # monotonic time the last frame arrived
    silence_due: bool = False  # the silence timer asks the worker to close this camera's intervals
    gone: bool = False  # ros4hri input: the face left; the worker retires the camera
    latency: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))  # s, receive -> published
    busy: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))  # s, decode + engine
    age: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))  # s, image stamp -> published
    faces: int = 0
    usual_rate: float | None = None  # Hz: the input rate the diagnostics compare against
    # worker thread only
    last_header: object = None  # header of the last processed frame: closing events are stamped with it
    live_hri: set = field(default_factory=set)  # ROS4HRI ids with publishers, of this camera
    silenced: bool = False  # intervals closed for silence; cleared by the next frame

    def on_message(self, msg, info) -> None:
        """Executor thread, under the node's lock: keep the newest message, count the rest."""
        now = time.monotonic()
        seq = info.get("publication_sequence_number") if isinstance(info, dict) else None
        self.counts.received += 1
        # Frames lost before the node saw them (best-effort loss, a full reader queue) show as
        # gaps in the writer's sequence numbers. Exact with one publisher per topic; a number
        # going down (a restarted or second publisher) restarts the count.
        if seq:
            if self.last_seq is not None and seq > self.last_seq + 1:
                self.counts.lost += seq - self.last_seq - 1
            self.last_seq = seq
        if self.pending is not None:
            self.counts.dropped += 1
        self.pending = (msg, now)
        self.last_frame = now
