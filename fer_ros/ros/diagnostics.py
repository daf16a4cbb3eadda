"""/diagnostics of the node: one DiagnosticStatus per camera from a window of its counters.

Levels, first match wins:
  ERROR  a frame failed in the engine;
  WARN   no images arrived; bad frames were skipped; more than ``max_dropped`` of the frames
         that reached (or were lost on the way to) the node were dropped, lost, or out of
         order; the input rate fell below ``rate_fall`` times the camera's usual rate;
  OK     otherwise.
The usual rate is a slow running mean of the rates of earlier periods with frames, so a
camera that drops from 30 Hz to 5 Hz warns, while one that always runs at 5 Hz does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from .camera import Counters

# Weight of the newest period in the usual rate: about the last 10 periods count, so a fall
# shows at once and a lasting new rate becomes the usual one within ~10 s at the default period.
RATE_MEMORY = 0.1


@dataclass
class Window:
    """What one camera did since the last diagnostics message (read under the node's lock)."""

    topic: str
    counts: Counters  # totals
    deltas: Counters  # within the window
    seconds: float
    latency: list[float]  # image received -> results published, s
    busy: list[float]  # engine time per frame, s
    age: list[float]  # image stamp -> published, s
    faces: int
    usual_rate: float | None  # Hz, before this window


@dataclass
class Limits:
    rate_fall: float = 0.5
    max_dropped: float = 0.5


def updated_rate(usual: float | None, rate: float) -> float | None:
    """The usual input rate after a period at ``rate`` (periods without frames leave it as it was)."""
    if rate <= 0:
        return usual
    return rate if usual is None else (1 - RATE_MEMORY) * usual + RATE_MEMORY * rate


def _ms(values: list[float], q: float | None = None) -> str:
    if not values:
        return "nan"
    v = sorted(values)
    x = sum(v) / len(v) if q is None else v[min(len(v) - 1, int(q * len(v)))]
    return f"{1000 * x:.1f}"


def level_of(w: Window, limits: Limits) -> tuple[int, str]:
    d = w.deltas
    rate = d.received / w.seconds
    message = (
        f"{rate:.1f} Hz in, {d.processed / w.seconds:.1f} Hz processed, {d.dropped} dropped, "
        f"{d.lost} lost in transport, {d.out_of_order} out of order"
    )
    arrived = d.received + d.lost
    missed = d.dropped + d.lost + d.out_of_order
    if d.failed:
        return DiagnosticStatus.ERROR, f"{d.failed} frame(s) failed in the engine; " + message
    if d.received == 0:
        return DiagnosticStatus.WARN, "no images received"
    if d.bad:
        return DiagnosticStatus.WARN, f"{d.bad} bad frame(s) skipped; " + message
    if arrived and missed / arrived > limits.max_dropped:
        return DiagnosticStatus.WARN, f"{100 * missed / arrived:.0f}% of the frames not processed; " + message
    if w.usual_rate and rate < limits.rate_fall * w.usual_rate:
        return DiagnosticStatus.WARN, f"input rate fell from {w.usual_rate:.1f} Hz; " + message
    return DiagnosticStatus.OK, message


def camera_status(name: str, w: Window, device: str, model: str, limits: Limits | None = None) -> DiagnosticStatus:
    level, message = level_of(w, limits or Limits())
    c, dt = w.counts, w.seconds
    values = {
        "topic": w.topic,
        "device": device,
        "model": model,
        "input_rate_hz": f"{w.deltas.received / dt:.2f}",
        "usual_input_rate_hz": "nan" if w.usual_rate is None else f"{w.usual_rate:.2f}",
        "processing_rate_hz": f"{w.deltas.processed / dt:.2f}",
        "latency_ms_mean": _ms(w.latency),
        "latency_ms_p50": _ms(w.latency, 0.5),
        "latency_ms_p95": _ms(w.latency, 0.95),
        "latency_ms_max": _ms(w.latency, 1.0),
        "processing_ms_mean": _ms(w.busy),
        "stamp_age_ms_mean": _ms(w.age),
        "frames_received": str(c.received),
        "frames_processed": str(c.processed),
        "frames_dropped": str(c.dropped),
        "frames_bad": str(c.bad),
        "frames_failed": str(c.failed),
        "frames_lost_in_transport": str(c.lost),
        "frames_out_of_order": str(c.out_of_order),
        "time_jumps": str(c.time_jumps),
        "faces": str(w.faces),
        "period_s": f"{dt:.3f}",
    }
    return DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=device,
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
