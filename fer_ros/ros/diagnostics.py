"""/diagnostics of the node: one DiagnosticStatus per camera from a window of its counters."""

from __future__ import annotations

from dataclasses import dataclass

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue


@dataclass
class Window:
    """What one camera did since the last diagnostics message (counters read under the node's lock)."""

    topic: str
    counts: tuple[int, int, int, int, int, int]  # received, processed, dropped, bad, failed, lost: totals
    deltas: tuple[int, int, int, int, int, int]  # the same, within the window
    seconds: float
    latency: list[float]  # image received -> results published, s
    busy: list[float]  # engine time per frame, s
    age: list[float]  # image stamp -> received, s
    faces: int


def _ms(values: list[float], q: float | None = None) -> str:
    if not values:
        return "nan"
    v = sorted(values)
    x = sum(v) / len(v) if q is None else v[min(len(v) - 1, int(q * len(v)))]
    return f"{1000 * x:.1f}"


def camera_status(name: str, w: Window, device: str, model: str) -> DiagnosticStatus:
    d_in, d_done, d_drop, d_bad, d_err, d_lost = w.deltas
    dt = w.seconds
    level = DiagnosticStatus.OK
    message = f"{d_in / dt:.1f} Hz in, {d_done / dt:.1f} Hz processed, {d_drop} dropped, {d_lost} lost in transport"
    if d_err:
        level, message = DiagnosticStatus.ERROR, f"{d_err} frame(s) failed in the engine; " + message
    elif d_bad:
        level, message = DiagnosticStatus.WARN, f"{d_bad} bad frame(s) skipped; " + message
    elif d_in == 0:
        level, message = DiagnosticStatus.WARN, "no images received"
    values = {
        "topic": w.topic,
        "device": device,
        "model": model,
        "input_rate_hz": f"{d_in / dt:.2f}",
        "processing_rate_hz": f"{d_done / dt:.2f}",
        "latency_ms_mean": _ms(w.latency),
        "latency_ms_p95": _ms(w.latency, 0.95),
        "latency_ms_max": _ms(w.latency, 1.0),
        "processing_ms_mean": _ms(w.busy),
        "stamp_age_ms_mean": _ms(w.age),
        "frames_received": str(w.counts[0]),
        "frames_processed": str(w.counts[1]),
        "frames_dropped": str(w.counts[2]),
        "frames_bad": str(w.counts[3]),
        "frames_failed": str(w.counts[4]),
        "frames_lost_in_transport": str(w.counts[5]),
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
