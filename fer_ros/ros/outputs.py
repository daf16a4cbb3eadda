"""The node's fer_msgs outputs: per-camera publishers and the rclpy messages.

Field values come from messages.py, the layer the bag runner shares; only the rclpy
objects are made here. Each camera publishes under its output namespace (messages.
output_namespace, or the ``output_namespaces`` parameter):

  <ns>/expressions  fer_msgs/FrameExpressions   reliable, volatile, depth 10
  <ns>/intervals    fer_msgs/ExpressionInterval reliable, transient local, depth ``intervals_depth``:
                                                a subscriber that starts late gets the last events
"""

from __future__ import annotations

from dataclasses import dataclass

from builtin_interfaces.msg import Time
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from fer_msgs.msg import ExpressionInterval, FaceExpression, FrameExpressions
from fer_ros.engine import FrameResult, IntervalEvent

from .messages import (
    EXPRESSIONS_TOPIC,
    INTERVALS_TOPIC,
    StampBook,
    frame_fields,
    header_fields,
    interval_fields,
)

FRAMES_DEPTH = 10  # per-frame results are for the present: a slow reader gets the newest few


def intervals_qos(depth: int) -> QoSProfile:
    return QoSProfile(
        depth=depth,
        history=HistoryPolicy.KEEP_LAST,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


def publisher(node, kind, topic: str, qos):
    """A publisher without rclpy's default QoS-event handlers (they log incompatible QoS or type).
    Each handler is a waitable that rclpy's Python executor adds to its wait set on every wake
    (60 times a second with two cameras); the per-face ROS4HRI publishers would add two per
    face. The input subscriptions keep theirs: a camera offering incompatible QoS is worth a
    warning."""
    from rclpy.event_handler import PublisherEventCallbacks

    return node.create_publisher(kind, topic, qos, event_callbacks=PublisherEventCallbacks(use_default_callbacks=False))


@dataclass
class Outputs:
    namespace: str
    frames: object  # rclpy Publisher of FrameExpressions
    intervals: object  # rclpy Publisher of ExpressionInterval

    @classmethod
    def create(cls, node, namespace: str, depth: int) -> Outputs:
        ns = namespace.rstrip("/")
        frames = publisher(node, FrameExpressions, f"{ns}/{EXPRESSIONS_TOPIC}", FRAMES_DEPTH)
        intervals = publisher(node, ExpressionInterval, f"{ns}/{INTERVALS_TOPIC}", intervals_qos(depth))
        return cls(ns, frames, intervals)

    def destroy(self, node) -> None:
        node.destroy_publisher(self.frames)
        node.destroy_publisher(self.intervals)


def _time(d) -> Time:
    return Time(sec=int(d["sec"]), nanosec=int(d["nanosec"]))


def frame_message(result: FrameResult, header, size=None, hri_ids=None) -> FrameExpressions:
    """The image's header (kept as it came) + messages.frame_fields (boxes clipped to ``size``)."""
    d = frame_fields(result, header_fields({"sec": 0, "nanosec": 0}, ""), size, hri_ids)
    return FrameExpressions(
        header=header, class_names=d["class_names"], faces=[FaceExpression(**face) for face in d["faces"]]
    )


def interval_message(ev: IntervalEvent, header, stamps: StampBook, hri_id: str = "") -> ExpressionInterval:
    """The given header + messages.interval_fields (exact onset/apex/offset stamps)."""
    d = interval_fields(ev, header_fields({"sec": 0, "nanosec": 0}, ""), stamps, hri_id)
    d.pop("header")
    for key in ("onset", "apex", "offset"):
        d[key] = _time(d[key])
    return ExpressionInterval(header=header, **d)


def stamp_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def engine_stamp(stamps: StampBook, stamp) -> float | None:
    """Float seconds for the engine (recorded in ``stamps``); None for an unstamped image (zero
    stamp), for which the engine counts frames at ``default_fps``."""
    if stamp.sec == 0 and stamp.nanosec == 0:
        return None
    return stamps.add(stamp.sec, stamp.nanosec)
