"""ROS 2 node ``fer_node``: camera images in, per-frame expressions and spotted intervals out.

A thin shell around ``Engine`` (engine.py); it re-implements no step of the per-frame flow,
and the message fields come from messages.py, the layer the bag runner shares.

Topics (relative names resolve in the node's namespace; ``~`` is the node's own):
  in   <image_topic>             sensor_msgs/Image, for each of ``image_topics``
       <image_topic>/compressed  sensor_msgs/CompressedImage instead, with ``compressed:=true``
  out  ~/expressions             fer_msgs/FrameExpressions: one per processed frame, header copied
                                 from the image (stamp, frame_id); faces empty when none
       ~/intervals               fer_msgs/ExpressionInterval: started / apex / ended per expression
       /diagnostics              diagnostic_msgs/DiagnosticArray every ``diagnostics_period`` s

Threads: the executor thread only stores the newest message of each camera (a frame still
waiting when a newer one arrives is dropped and counted). One worker thread takes the
cameras' newest frames round-robin, decodes them and runs that camera's Engine (each
camera has its own tracker, face states and spotters; each frame's faces go through the
models in one batched call), then publishes. Parameter changes are validated in the
set-parameters callback (EngineConfig.from_params: the one place for validation) and
applied by the worker between frames; model, weights, device, max_faces and
min_detection_confidence rebuild the engines (open intervals are closed first, with
"ended" events), the others are applied to the running engines.

Face ids are node-wide: unique across cameras and engine rebuilds, never reused while the
node runs. Results carry the image stamps, so ``use_sim_time`` and bag replay work; a
stamp going backwards (a bag loop) ends every face of that camera (the engine's reset).
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import rclpy
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import (
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CompressedImage, Image

from fer_msgs.msg import ExpressionInterval, FaceExpression, FrameExpressions
from fer_ros.engine import (
    BadFrame,
    Engine,
    EngineConfig,
    FrameResult,
    IntervalEvent,
)
from fer_ros.engine.config import REBUILD

from .diagnostics import Window, camera_status
from .images import compressed_to_bgr, image_to_bgr
from .messages import (
    StampBook,
    frame_fields,
    header_fields,
    interval_fields,
)
from .params import ENGINE_PARAMS, IMAGE_QOS, NODE_PARAMS, check_buildable, engine_defaults

NODE_NAME = "fer_node"
WARN_PERIOD = 5.0  # seconds between two warnings of one kind for one camera


# -- messages: fields from messages.py (shared with the bag runner), rclpy objects here ----------------
def _time(d) -> Time:
    return Time(sec=int(d["sec"]), nanosec=int(d["nanosec"]))


def frame_message(result: FrameResult, header) -> FrameExpressions:
    """The image's header (kept as it came) + messages.frame_fields."""
    d = frame_fields(result, header_fields({"sec": 0, "nanosec": 0}, ""))
    return FrameExpressions(
        header=header, class_names=d["class_names"], faces=[FaceExpression(**face) for face in d["faces"]]
    )


def interval_message(ev: IntervalEvent, header, stamps: StampBook) -> ExpressionInterval:
    """The triggering image's header + messages.interval_fields (exact onset/apex/offset stamps)."""
    d = interval_fields(ev, header_fields({"sec": 0, "nanosec": 0}, ""), stamps)
    d.pop("header")
    for key in ("onset", "apex", "offset"):
        d[key] = _time(d[key])
    return ExpressionInterval(header=header, **d)


def engine_stamp(stamps: StampBook, stamp) -> float | None:
    """Float seconds for the engine (recorded in ``stamps``); None for an unstamped image (zero
    stamp), for which the engine counts frames at ``default_fps``."""
    if stamp.sec == 0 and stamp.nanosec == 0:
        return None
    return stamps.add(stamp.sec, stamp.nanosec)


# -- the node ---------------------------------------------------------------------------------
@dataclass
class Camera:
    topic: str
    engine: Engine
    stamps: StampBook = field(default_factory=StampBook)
    pending: tuple | None = None  # (message, monotonic receive time): the newest unprocessed frame
    last_header: object = None
    # counters (guarded by the node's lock)
    received: int = 0
    lost: int = 0  # gaps in the publisher's sequence numbers: frames that never reached the node
    last_seq: int | None = None
    dropped: int = 0
    processed: int = 0
    bad: int = 0
    errors: int = 0
    latency: deque = field(default_factory=lambda: deque(maxlen=1000))  # s, receive -> published
    busy: deque = field(default_factory=lambda: deque(maxlen=1000))  # s, decode + engine
    age: deque = field(default_factory=lambda: deque(maxlen=1000))  # s, image stamp -> published (ROS clock)
    faces: int = 0
    last_counts: tuple = (0, 0, 0, 0, 0, 0)
    warned: dict = field(default_factory=dict)  # warning kind -> (last monotonic time, suppressed count)


class _RosLogHandler(logging.Handler):
    """The engine's Python log records (e.g. 'stamp went backwards') into the node's ROS log."""

    def __init__(self, logger):
        super().__init__(logging.INFO)
        self.ros_logger = logger

    def emit(self, record):
        try:
            text = self.format(record)
            if record.levelno >= logging.ERROR:
                self.ros_logger.error(text)
            elif record.levelno >= logging.WARNING:
                self.ros_logger.warning(text)
            else:
                self.ros_logger.info(text)
        except Exception:  # logging must never take the node down
            pass


class FerNode(Node):
    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._lock = threading.Condition()
        self._stop = False
        self._pending_cfg: EngineConfig | None = None
        self._log_handler = _RosLogHandler(self.get_logger())
        logging.getLogger("fer_ros").addHandler(self._log_handler)
        logging.getLogger("fer_ros").setLevel(logging.INFO)
        logging.getLogger("fer_ros").propagate = False

        for name, default in engine_defaults().items():
            desc, extra = ENGINE_PARAMS[name]
            self.declare_parameter(name, default, ParameterDescriptor(description=desc, **extra))
        for name, (default, desc, extra) in NODE_PARAMS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=desc, **extra))

        # A typo in the YAML or on the command line must not pass silently (rclpy ignores
        # overrides of undeclared parameters): refuse names this node does not have.
        unknown = sorted(
            n
            for n in getattr(self, "_parameter_overrides", {})
            if not self.has_parameter(n) and not n.startswith("qos_overrides.")
        )
        if unknown:
            raise ValueError(f"unknown parameter(s): {', '.join(unknown)}")
        self.cfg = EngineConfig.from_params(self._engine_params())  # ValueError names the bad one
        check_buildable(self.cfg)
        topics = list(self.get_parameter("image_topics").value or [])
        if not topics or any(not t for t in topics):
            raise ValueError(f"image_topics must name at least one topic, got {topics}")
        qos_name = self.get_parameter("image_qos").value
        if qos_name not in IMAGE_QOS:
            raise ValueError(f"image_qos must be one of {IMAGE_QOS}, got {qos_name!r}")
        compressed = bool(self.get_parameter("compressed").value)

        self._ids = itertools.count(1)  # face ids: node-wide, never reused
        self.cameras: list[Camera] = []
        for topic in topics:
            engine = Engine(copy.deepcopy(self.cfg), ids=self._ids)
            self.cameras.append(Camera(topic, engine))
        self.device = str(self.cameras[0].engine.device)

        self.pub_frames = self.create_publisher(FrameExpressions, "~/expressions", 10)
        self.pub_intervals = self.create_publisher(
            ExpressionInterval,
            "~/intervals",
            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST),
        )
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        qos = (
            qos_profile_sensor_data
            if qos_name == "sensor_data"
            else QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        )
        self._decode = compressed_to_bgr if compressed else image_to_bgr
        self._subs = []
        for cam in self.cameras:
            name = f"{cam.topic.rstrip('/')}/compressed" if compressed else cam.topic
            sub = self.create_subscription(
                CompressedImage if compressed else Image,
                name,
                lambda msg, info, cam=cam: self._on_image(cam, msg, info),
                qos,
            )
            cam.topic = sub.topic_name  # fully resolved: what /diagnostics names
            self._subs.append(sub)

        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._diag_last = time.monotonic()
        self._diag_timer = self.create_timer(
            self.get_parameter("diagnostics_period").value, self._publish_diagnostics, clock=self._steady
        )
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._parameters_set)

        self._worker = threading.Thread(target=self._work, name="fer_worker", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"fer_node ready: model {self.cameras[0].engine.model_name} on {self.device}; "
            f"{'compressed ' if compressed else ''}images from {', '.join(s.topic_name for s in self._subs)} "
            f"({qos_name} QoS); publishing {self.pub_frames.topic_name}, {self.pub_intervals.topic_name}, /diagnostics"
        )

    # -- parameters --------------------------------------------------------------------------
    def _engine_params(self, overrides: dict | None = None) -> dict:
        params = {name: self.get_parameter(name).value for name in ENGINE_PARAMS}
        params.update(overrides or {})
        return params

    def _validate_parameters(self, params) -> SetParametersResult:
        """Pre-commit check of a parameter change: the engine's own validation decides."""
        changes = {p.name: p.value for p in params if p.name in ENGINE_PARAMS}
        if not changes:
            return SetParametersResult(successful=True)
        try:
            cfg = EngineConfig.from_params(self._engine_params(changes))
            check_buildable(cfg, load_weights="model" in changes or "weights" in changes)
        except ValueError as e:
            self.get_logger().warning(f"parameter change refused: {e}")
            return SetParametersResult(successful=False, reason=str(e))
        return SetParametersResult(successful=True)

    def _parameters_set(self, params) -> None:
        names = {p.name for p in params}
        if names & set(ENGINE_PARAMS):
            cfg = EngineConfig.from_params(self._engine_params())
            with self._lock:
                self._pending_cfg = cfg
                self._lock.notify_all()
        if "diagnostics_period" in names:
            self._diag_timer.cancel()
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self.get_parameter("diagnostics_period").value, self._publish_diagnostics, clock=self._steady
            )

    def _apply_config(self, cfg: EngineConfig) -> None:
        """Worker thread, between frames: new engines, or the new values in the running ones."""
        old = self.cfg
        if any(getattr(old, k) != getattr(cfg, k) for k in REBUILD):
            try:
                engines = [Engine(copy.deepcopy(cfg), ids=self._ids) for _ in self.cameras]
            except Exception as e:  # keep serving with the old engines rather than none
                self.get_logger().error(
                    f"could not build the engine for the new parameters, keeping the old one: {type(e).__name__}: {e}"
                )
                return
            for cam, engine in zip(self.cameras, engines):
                self._publish_events(cam, cam.engine.finish(), cam.last_header)
                cam.engine.close()
                cam.engine = engine
            self.device = str(engines[0].device)
            self.get_logger().info(f"engines rebuilt: model {engines[0].model_name} on {self.device}")
        else:
            for cam in self.cameras:
                cam.engine.reconfigure(copy.deepcopy(cfg))
            if cfg.cpu_threads != old.cpu_threads and self.device == "cpu":
                import torch

                torch.set_num_threads(cfg.cpu_threads)
        self.cfg = cfg

    # -- images in (executor thread) -----------------------------------------------------------
    def _on_image(self, cam: Camera, msg, info=None) -> None:
        now = time.monotonic()
        seq = (info or {}).get("publication_sequence_number") if isinstance(info, dict) else None
        with self._lock:
            cam.received += 1
            # Frames lost before the node saw them (best-effort loss, a full reader queue) show as
            # gaps in the writer's sequence numbers. Exact with one publisher per topic; a number
            # going down (a restarted or second publisher) restarts the count.
            if seq:
                if cam.last_seq is not None and seq > cam.last_seq + 1:
                    cam.lost += seq - cam.last_seq - 1
                cam.last_seq = seq
            if cam.pending is not None:
                cam.dropped += 1  # the worker never got to it: only the newest frame counts
            cam.pending = (msg, now)
            self._lock.notify_all()

    # -- worker ----------------------------------------------------------------------------------
    def _work(self) -> None:
        turn = 0
        while True:
            with self._lock:
                while not self._stop and self._pending_cfg is None and not any(c.pending for c in self.cameras):
                    self._lock.wait(0.5)
                if self._stop:
                    return
                cfg, self._pending_cfg = self._pending_cfg, None
                cam = item = None
                n = len(self.cameras)
                for k in range(n):
                    c = self.cameras[(turn + k) % n]
                    if c.pending is not None:
                        cam, item, c.pending = c, c.pending, None
                        turn = (turn + k + 1) % n
                        break
            try:
                if cfg is not None:
                    self._apply_config(cfg)
                if cam is not None:
                    self._process(cam, *item)
            except Exception as e:  # never let one frame take the node down
                if cam is not None:
                    with self._lock:
                        cam.errors += 1
                    self._warn(cam, "error", f"{cam.topic}: frame failed: {type(e).__name__}: {e}", error=True)
                else:
                    self.get_logger().error(f"worker: {type(e).__name__}: {e}")

    def _process(self, cam: Camera, msg, received: float) -> None:
        t0 = time.monotonic()
        try:
            bgr = self._decode(msg)
        except BadFrame as e:
            with self._lock:
                cam.bad += 1
            self._warn(cam, "bad", f"{cam.topic}: frame skipped: {e}")
            return
        header = msg.header
        result = cam.engine.process(bgr, engine_stamp(cam.stamps, header.stamp))
        busy = time.monotonic() - t0
        if result.error:  # the engine refused the frame (it logged why); events (a reset) still go out
            with self._lock:
                cam.bad += 1
            self._warn(cam, "bad", f"{cam.topic}: frame skipped: {result.error}")
            self._publish_events(cam, result.events, header)
            return
        self.pub_frames.publish(frame_message(result, header))
        self._publish_events(cam, result.events, header)
        cam.last_header = header
        done = time.monotonic()
        now = self.get_clock().now().nanoseconds
        stamp_ns = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
        with self._lock:
            cam.processed += 1
            cam.faces = len(result.faces)
            cam.latency.append(done - received)
            cam.busy.append(busy)
            if now > 0 and stamp_ns > 0:
                cam.age.append((now - stamp_ns) * 1e-9)

    def _publish_events(self, cam: Camera, events, header) -> None:
        if header is None:
            header = Image().header
        for ev in events:
            self.pub_intervals.publish(interval_message(ev, header, cam.stamps))

    def _warn(self, cam: Camera, kind: str, text: str, error: bool = False) -> None:
        """At most one log line per kind and camera every WARN_PERIOD seconds, with a count of the rest."""
        now = time.monotonic()
        last, suppressed = cam.warned.get(kind, (-math.inf, 0))
        if now - last < WARN_PERIOD:
            cam.warned[kind] = (last, suppressed + 1)
            return
        if suppressed:
            text += f" ({suppressed} more like it not logged in the last {WARN_PERIOD:.0f} s)"
        (self.get_logger().error if error else self.get_logger().warning)(text)
        cam.warned[kind] = (now, 0)

    # -- diagnostics (executor thread) ---------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        dt = max(now - self._diag_last, 1e-6)
        self._diag_last = now
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        model = self.cameras[0].engine.model_name
        for cam in self.cameras:
            with self._lock:
                counts = (cam.received, cam.processed, cam.dropped, cam.bad, cam.errors, cam.lost)
                d_in, d_done, d_drop, d_bad, d_err, d_lost = (a - b for a, b in zip(counts, cam.last_counts))
                cam.last_counts = counts
                lat, busy, age = list(cam.latency), list(cam.busy), list(cam.age)
                cam.latency.clear()
                cam.busy.clear()
                cam.age.clear()
                faces = cam.faces
            arr.status.append(
                camera_status(
                    f"{self.get_name()}: {cam.topic}",
                    Window(cam.topic, counts, (d_in, d_done, d_drop, d_bad, d_err, d_lost), dt, lat, busy, age, faces),
                    self.device,
                    model,
                )
            )
        self.pub_diag.publish(arr)

    # -- shutdown --------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (it finishes the frame in hand), then close open intervals ("ended")."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._worker.is_alive():
            self._worker.join(timeout)
        closed = 0
        for cam in self.cameras:
            try:
                events = cam.engine.finish()
                self._publish_events(cam, events, cam.last_header)
                closed += len(events)
            except Exception:  # the context may already be gone; nothing to report to
                pass
            if not self._worker.is_alive():  # never free MediaPipe under a frame in hand
                cam.engine.close()
        if closed:  # give the "ended" events a moment to reach reliable subscribers before we exit
            try:
                from rclpy.duration import Duration

                self.pub_intervals.wait_for_all_acked(Duration(seconds=1.0))
            except Exception:
                pass
        logging.getLogger("fer_ros").removeHandler(self._log_handler)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    # Our own SIGINT/SIGTERM handling: stop spinning, then stop the worker while the context
    # is still up (rclpy's handlers would shut the context down under the worker's feet).
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    logger = rclpy.logging.get_logger(NODE_NAME)
    try:
        node = FerNode()
    except Exception as e:  # a bad parameter, missing weights, no CUDA: one clear line, no traceback
        logger.fatal(
            f"cannot start: {type(e).__name__}: {e}" if not isinstance(e, ValueError) else f"cannot start: {e}"
        )
        rclpy.try_shutdown()
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.stop()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
