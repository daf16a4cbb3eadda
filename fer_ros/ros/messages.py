"""Engine results -> field values of the fer_msgs messages, as plain nested dicts.

One definition of what every published field means, shared by every front end that
emits fer_msgs: the rosbags writer (``fer-ros bag``) builds rosbags dataclasses from
these dicts, the rclpy node builds its message objects from the same dicts. Neither
re-derives a field. Semantics follow the comments in ``fer_msgs/msg/*.msg``:

- ``FrameExpressions``: header copied from the source image (stamp and frame_id),
  ``class_names`` = ``CLASS_NAMES`` (the order of every ``scores``), one
  ``FaceExpression`` per tracked face (empty list when none).
- ``FaceExpression``: box ``x, y, width, height`` in pixels of the source image, clipped
  to it when its size is given, ``hri_id`` the ROS4HRI id ("" without ROS4HRI), ``scores``
  sum to 1, ``label``/``confidence`` = top class and its score,
  ``phase`` = ``PHASE_*``.
- ``ExpressionInterval``: header stamp = the frame that triggered the event, frame_id
  of the camera; ``status`` = ``STATUS_*``; ``onset`` always set, ``apex`` zero until
  ``STATUS_APEX``, ``offset`` zero until ``STATUS_ENDED`` (zero = sec 0, nanosec 0);
  ``end_reason`` one of ``END_REASONS`` at ``STATUS_ENDED``, "" before.
- ``face_id``: unique across the cameras of one node (or bag run) and never reused (the
  cameras' engines draw their ids from one counter).

Times are dicts ``{"sec": int, "nanosec": int}``; float arrays are lists of Python
floats; nested messages are dicts; message arrays are lists of dicts. ``StampBook``
maps the engine's float event times back to the exact stamps of the frames they name.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

from fer_ros.engine import FaceResult, FrameResult
from fer_ros.engine.spotter import (
    END_REASONS,
    STATUS_APEX,
    STATUS_ENDED,
    STATUS_STARTED,
    IntervalEvent,
)
from fer_ros.model.classes import CLASS_NAMES, PHASES

PACKAGE = "fer_msgs"
FRAME_EXPRESSIONS = "fer_msgs/msg/FrameExpressions"
FACE_EXPRESSION = "fer_msgs/msg/FaceExpression"
EXPRESSION_INTERVAL = "fer_msgs/msg/ExpressionInterval"

# Topic names inside a camera's output namespace (see output_namespace).
EXPRESSIONS_TOPIC = "expressions"
INTERVALS_TOPIC = "intervals"
# Interval topics are transient-local with this depth: a planner that starts late still gets the
# last events (at about 3 events per expression, the last ~16 expressions of the camera).
INTERVALS_DEPTH = 50

# The .msg constants: FaceExpression.PHASE_* and ExpressionInterval.STATUS_* (test_bag checks them
# against the .msg files).
PHASE_CODES = {name: code for code, name in enumerate(PHASES)}  # neutral 0, onset 1, apex 2, offset 3
STATUS_CODES = {STATUS_STARTED: 0, STATUS_APEX: 1, STATUS_ENDED: 2}
END_REASON_NAMES = END_REASONS  # ExpressionInterval.END_* (the engine's spotter names, test_bag checks them)

ZERO_TIME = {"sec": 0, "nanosec": 0}


def time_to_seconds(sec: int, nanosec: int) -> float:
    """builtin_interfaces/Time -> float seconds (the engine's stamps)."""
    return int(sec) + int(nanosec) * 1e-9


def seconds_to_time(seconds: float | None) -> dict:
    """Float seconds -> ``{"sec", "nanosec"}`` rounded to the nanosecond; None, NaN or < 0 -> zero."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return dict(ZERO_TIME)
    ns = round(seconds * 1e9)
    return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}


class StampBook:
    """Remembers the exact message stamp behind each float stamp handed to the engine.

    Engine stamps are float seconds (sec + nanosec * 1e-9); at present-day epoch times a
    float64 second count is only good to about 0.2 microseconds, so converting an event's
    onset back with ``seconds_to_time`` could differ from the source header by a few hundred
    nanoseconds. Record every stamp given to the engine here and event times map back to
    the exact stamps of the frames they name. One book per engine (camera); the last
    ``keep`` stamps are remembered (older ones round to the nearest nanosecond).
    """

    KEEP = 20_000  # frames: 11 minutes at 30 Hz

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._exact: OrderedDict[float, tuple[int, int]] = OrderedDict()

    def add(self, sec: int, nanosec: int) -> float:
        """Record a stamp; returns the float seconds to hand to the engine."""
        seconds = time_to_seconds(sec, nanosec)
        self._exact[seconds] = (int(sec), int(nanosec))
        self._exact.move_to_end(seconds)
        if len(self._exact) > self.keep:
            self._exact.popitem(last=False)
        return seconds

    def time(self, seconds: float | None) -> dict:
        """The exact time recorded for ``seconds``; otherwise ``seconds_to_time``."""
        if seconds is not None and seconds in self._exact:
            sec, nanosec = self._exact[seconds]
            return {"sec": sec, "nanosec": nanosec}
        return seconds_to_time(seconds)


def header_fields(stamp: Mapping, frame_id: str) -> dict:
    """std_msgs/Header from a ``{"sec", "nanosec"}`` stamp."""
    return {"stamp": {"sec": int(stamp["sec"]), "nanosec": int(stamp["nanosec"])}, "frame_id": str(frame_id)}


def output_namespace(image_topic: str, node_name: str) -> str:
    """Where a camera's outputs go by default: ``<the image topic's namespace>/<node name>``.

    ``/cam_left/image_raw`` -> ``/cam_left/fer_node``; ``/image_raw`` -> ``/fer_node`` (the
    node's own ``~/`` for a camera at the root). ``image_topic`` is fully resolved.
    """
    parent = image_topic.rstrip("/").rsplit("/", 1)[0]
    return f"{parent}/{node_name}"


def clip_box(box, size: tuple[int, int] | None) -> tuple[float, float, float, float]:
    """x, y, w, h clipped to an image of ``size`` = (width, height) pixels (unchanged when None).

    The landmarks' extent of a face at the border reaches past the image; consumers expect
    boxes inside it."""
    x, y, w, h = (float(v) for v in box)
    if size is None:
        return x, y, w, h
    width, height = float(size[0]), float(size[1])
    x0, y0 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x1, y1 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    return x0, y0, x1 - x0, y1 - y0


def face_fields(face: FaceResult, size: tuple[int, int] | None = None, hri_id: str = "") -> dict:
    """fer_msgs/FaceExpression for one tracked face; ``size`` (width, height) clips its box."""
    x, y, w, h = clip_box(face.box, size)
    return {
        "face_id": int(face.id),
        "hri_id": hri_id,
        "x": x,
        "y": y,
        "width": w,
        "height": h,
        "scores": [float(p) for p in face.scores],
        "label": face.label,
        "confidence": float(face.confidence),
        "intensity": float(face.intensity),
        "activity": float(face.activity),
        "phase": PHASE_CODES[face.phase],
    }


def frame_fields(
    result: FrameResult, header: Mapping, size: tuple[int, int] | None = None, hri_ids: Mapping | None = None
) -> dict:
    """fer_msgs/FrameExpressions for one processed frame; ``header`` from ``header_fields``, ``size``
    (width, height) of the image, ``hri_ids`` face id -> ROS4HRI id."""
    ids = hri_ids or {}
    return {
        "header": dict(header),
        "class_names": list(CLASS_NAMES),
        "faces": [face_fields(f, size, ids.get(f.id, "")) for f in result.faces],
    }


def interval_fields(event: IntervalEvent, header: Mapping, stamps: StampBook | None = None, hri_id: str = "") -> dict:
    """fer_msgs/ExpressionInterval for one spotter event.

    ``header``: stamp of the frame whose processing emitted the event (for a time jump or a
    silent camera, the camera's last frame before it), frame_id of the camera. ``stamps``
    maps the event's float onset/apex/offset back to exact times.
    """
    to_time = stamps.time if stamps is not None else seconds_to_time
    return {
        "header": dict(header),
        "face_id": int(event.face_id),
        "hri_id": hri_id,
        "status": STATUS_CODES[event.status],
        "end_reason": event.end_reason if event.status == STATUS_ENDED else "",
        "label": event.label,
        "confidence": float(event.confidence),
        "class_names": list(CLASS_NAMES),
        "scores": [float(p) for p in event.scores],
        "onset": to_time(event.onset_stamp),
        "apex": to_time(event.apex_stamp) if event.status in (STATUS_APEX, STATUS_ENDED) else dict(ZERO_TIME),
        "offset": to_time(event.offset_stamp) if event.status == STATUS_ENDED else dict(ZERO_TIME),
        "peak_intensity": float(event.peak_intensity),
    }
