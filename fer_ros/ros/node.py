"""ROS 2 node ``fer_node``: camera images in, per-frame expressions, spotted intervals and ROS4HRI out.

A thin shell around ``Engine`` (engine.py): it re-implements no step of the per-frame flow.
A lifecycle node (REP 2000-style managed node, as ``hri_face_detect`` is):

  configure   read and check the parameters (config/fer.yaml, config/fer_node.yaml), load the
              model and warm it up (one engine per camera), create the publishers
  activate    subscribe to the cameras (or to a ROS4HRI detector's faces), start the worker
              thread and the diagnostics and silence timers
  deactivate  unsubscribe, wait for the worker, close open intervals ("stream stopped")
  cleanup     free the engines and the publishers; shutdown: whatever of the above applies

``fer_node`` (the plain mode) configures and activates itself at start-up; ``fer_node
--lifecycle`` waits for a lifecycle manager (``ros2 lifecycle set /fer_node configure``).

Topics (per camera, under its output namespace: outputs.py; ROS4HRI: hri.py):
  in   <image_topic>[/compressed]         sensor_msgs/Image | CompressedImage, each of image_topics
       /humans/faces/tracked, /humans/faces/<id>/aligned   with input_mode:=ros4hri (hri_input.py)
  out  <ns>/expressions, <ns>/intervals   fer_msgs (intervals transient local)
       /humans/faces/tracked, /humans/faces/<id>/{roi,expression[,aligned]}   with ros4hri:=true
       /diagnostics                       diagnostic_msgs/DiagnosticArray (diagnostics.py)

Threads: one executor thread (main.py: a SingleThreadedExecutor) serves the callbacks,
each of which only stores the newest message of a camera, flags a request or answers a
service; configure (the model load) runs there before any camera is subscribed. The worker
thread (worker.py) runs the engines and publishes. The callbacks sit in groups (input,
timers, services) so that a multi-threaded executor, e.g. a component container, keeps
each kind serialised.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import itertools
import logging
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from fer_ros.engine import Engine, EngineConfig, Models

from .camera import Camera, Throttle
from .diagnostics import Limits, Window, camera_status, updated_rate
from .hri import HriFaces, random_prefix
from .hri_input import HriInput
from .images import compressed_to_bgr, image_to_bgr
from .messages import output_namespace
from .outputs import Outputs, publisher
from .params import (
    ENGINE_PARAMS,
    NODE_PARAMS,
    NodeSettings,
    check_buildable,
    coerce_request,
    declare_all,
    read_engine_config,
    read_settings,
    settings_values,
)
from .worker import Worker

NODE_NAME = "fer_node"
STOP_TIMEOUT = 30.0  # s to wait for the worker's frame in hand (a frame takes well under 1 s)
ACK_TIMEOUT = 1.0  # s for reliable subscribers to acknowledge the closing events
SILENCE_CHECK = 0.25  # s between two looks for silent cameras: they close within 0.25 s of the timeout
WARMUP_SIDE = 64  # px: a blank frame through each engine at configure loads MediaPipe's graphs
OK, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class _RosLogHandler(logging.Handler):
    """The engine's Python log records into the node's ROS log."""

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


def reason_of(e: BaseException) -> str:
    """One line for a start-up failure: a ValueError's own words name the parameter."""
    return str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"


class FerNode(LifecycleNode):
    def __init__(self, managed: bool = False, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self.managed = managed
        self.lock = threading.Condition()
        self.log = self.get_logger()
        declare_all(self)  # ValueError naming the parameter: main() exits 2
        self.settings = NodeSettings(**settings_values(self))  # checked at configure
        self.cfg: EngineConfig | None = None
        self.ids = itertools.count(1)  # face ids: node-wide, never reused while the node runs
        self.cameras: list[Camera] = []
        self.hri: HriFaces | None = None
        self.hri_prefix = ""
        self.keep_features = False
        self.models: Models | None = None  # every engine's networks: all faces of all cameras in one batch
        self.device = self.model = ""
        self.start_error = ""
        self.decode = image_to_bgr
        self._pending_cfg: EngineConfig | None = None
        self._outputs: dict[str, Outputs] = {}
        self._hri_input: HriInput | None = None
        self._timers: list = []
        self._configured = self._active = False
        self._throttle = Throttle()
        self.worker = Worker(self)
        self.input_group = MutuallyExclusiveCallbackGroup()
        self.timer_group = MutuallyExclusiveCallbackGroup()
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._log_handler = _RosLogHandler(self.log)
        ours = logging.getLogger("fer_ros")
        ours.addHandler(self._log_handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False
        self.pub_diag = publisher(self, DiagnosticArray, "/diagnostics", 10)
        self.add_pre_set_parameters_callback(lambda params: coerce_request(self, params))
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._parameters_set)

    # -- what the worker and the input side share ---------------------------------------------------
    def config_waiting(self) -> bool:
        return self._pending_cfg is not None

    def take_config(self) -> EngineConfig | None:
        cfg, self._pending_cfg = self._pending_cfg, None
        return cfg

    def new_engine(self, cfg: EngineConfig, models: Models | None = None) -> Engine:
        """An engine on the node's shared networks (or ``models``), with node-wide face ids."""
        return Engine(copy.deepcopy(cfg), ids=self.ids, keep_features=self.keep_features, models=models or self.models)

    def set_model(self, engine: Engine) -> None:
        with self.lock:
            self.device, self.model = str(engine.device), engine.model_name

    def warn(self, cam: Camera, kind: str, text: str, error: bool = False) -> None:
        line = cam.throttle(kind, text)
        if line is not None:
            (self.log.error if error else self.log.warning)(line)

    # -- lifecycle -------------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._configure()
        except Exception as e:  # a bad parameter, missing weights, no CUDA: one line naming it
            self.start_error = reason_of(e)
            if self.managed:
                self.log.error(f"configure failed: {self.start_error}")
            self._cleanup()
            return FAILURE
        self.start_error = ""
        return OK

    def _configure(self) -> None:
        settings = read_settings(self)  # ValueError names the parameter
        cfg = read_engine_config(self)
        check_buildable(cfg)
        self.settings, self.cfg = settings, cfg
        self.keep_features = settings.ros4hri and settings.ros4hri_aligned
        self.decode = compressed_to_bgr if settings.compressed else image_to_bgr
        if settings.ros4hri or settings.input_mode == "ros4hri":
            self.hri_prefix = settings.ros4hri_id_prefix or random_prefix()
            self.hri = HriFaces(self, aligned=self.keep_features, tracked=settings.input_mode == "images")
        self.models = Models(cfg)
        if settings.input_mode == "images":
            topics = [self.resolve_topic_name(t) for t in settings.image_topics]
            spaces = settings.output_namespaces or [output_namespace(t, self.get_name()) for t in topics]
            spaces = [self.resolve_topic_name(s) if s else "" for s in spaces]
            self._check_namespaces(topics, spaces, explicit=bool(settings.output_namespaces))
            for topic, ns in zip(topics, spaces):
                engine = self.new_engine(cfg)
                self._warm_up(engine)
                name = f"{topic.rstrip('/')}/compressed" if settings.compressed else topic  # what it subscribes to
                self.cameras.append(Camera(name, engine, outputs=self._outputs_for(ns)))
            self.set_model(self.cameras[0].engine)
        else:  # the faces come and go: their engines are built by the worker (first one warmed here)
            probe = self.new_engine(dataclasses.replace(cfg, aligned=True))
            self._warm_up(probe)
            self.worker.pool.append(probe)
            self.set_model(probe)
            self._hri_input = HriInput(self, self._outputs_for(self.get_fully_qualified_name()))
        self._configured = True
        # Everything loaded so far (torch, MediaPipe, the models) lives as long as the node: out of
        # the collector's sight, a full collection no longer walks it while frames wait.
        gc.collect()
        gc.freeze()
        what = ", ".join(c.topic for c in self.cameras) if self.cameras else "ROS4HRI faces"
        outs = ", ".join(sorted(self._outputs))
        self.log.info(
            f"configured: model {self.model} on {self.device}; input {what}; outputs under {outs}"
            + (
                f"; ROS4HRI ids {self.hri_prefix}NNN"
                if self.hri is not None and settings.input_mode == "images"
                else ""
            )
        )

    def _check_namespaces(self, topics, spaces, explicit: bool) -> None:
        for i, ns in enumerate(spaces):
            if not ns or ns == "/":
                raise ValueError(f"output_namespaces: an empty namespace for {topics[i]}")
        if not explicit and len(set(spaces)) < len(spaces):
            clash = sorted({t for t, s in zip(topics, spaces) if spaces.count(s) > 1})
            raise ValueError(
                f"image_topics {', '.join(clash)} share the output namespace "
                f"{[s for s in spaces if spaces.count(s) > 1][0]}: put each camera in its own namespace "
                "(/cam_left/image_raw) or set output_namespaces"
            )

    def _outputs_for(self, ns: str) -> Outputs:
        if ns not in self._outputs:
            self._outputs[ns] = Outputs.create(self, ns, self.settings.intervals_depth)
        return self._outputs[ns]

    @staticmethod
    def _warm_up(engine: Engine) -> None:
        """MediaPipe's graphs and the networks' first runs now, not at the first image."""
        engine.warm_up(WARMUP_SIDE)

    def on_activate(self, state) -> TransitionCallbackReturn:
        s = self.settings
        if s.input_mode == "images":
            qos = (
                qos_profile_sensor_data
                if s.image_qos == "sensor_data"
                else QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
            )
            for cam in self.cameras:
                cam.subscription = self.create_subscription(
                    CompressedImage if s.compressed else Image,
                    cam.topic,
                    lambda msg, info, cam=cam: self.on_image(cam, msg, info),
                    qos,
                    callback_group=self.input_group,
                )
        else:
            self._hri_input.activate()
        self.worker.start()
        self._start_timers()
        self._active = True
        subs = [c.subscription.topic_name for c in self.cameras if c.subscription is not None]
        self.log.info(f"active: {'images from ' + ', '.join(subs) if subs else 'ROS4HRI aligned faces'}")
        return super().on_activate(state)

    def on_image(self, cam: Camera, msg, info=None) -> None:
        with self.lock:
            cam.on_message(msg, info)
            self.lock.notify_all()

    def _start_timers(self) -> None:
        self._diag_last = time.monotonic()
        self._timers = [
            self.create_timer(
                self.settings.diagnostics_period,
                self._publish_diagnostics,
                callback_group=self.timer_group,
                clock=self._steady,
            ),
            self.create_timer(SILENCE_CHECK, self._check_silence, callback_group=self.timer_group, clock=self._steady),
        ]

    def _stop_timers(self) -> None:
        for t in self._timers:
            t.cancel()
            self.destroy_timer(t)
        self._timers = []

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._deactivate()
        return super().on_deactivate(state)

    def _deactivate(self) -> None:
        if not self._active:
            return
        self._active = False
        self._stop_timers()
        if self._hri_input is not None:
            self._hri_input.deactivate()
        with self.lock:  # the input group may still be adding a ROS4HRI face
            cams = list(self.cameras)
        for cam in cams:
            if cam.subscription is not None:
                self.destroy_subscription(cam.subscription)
                cam.subscription = None
        if not self.worker.stop(STOP_TIMEOUT):
            self.log.error(f"the worker did not finish its frame within {STOP_TIMEOUT:.0f} s; open intervals stay open")
            return
        with self.lock:
            for cam in self.cameras:
                cam.pending = None
        closed = self.worker.finish_all()  # the worker has ended: its state is ours now
        if self._hri_input is not None:
            self._hri_input.retire_all()
        if closed:  # give the closing events a moment to reach reliable subscribers
            from rclpy.duration import Duration

            for out in self._outputs.values():
                with contextlib.suppress(Exception):  # best effort: nobody may be listening
                    out.intervals.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT))

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._cleanup()
        return super().on_cleanup(state)

    def _cleanup(self) -> None:
        """Free engines and publishers (the worker has stopped)."""
        if self.worker.stop(STOP_TIMEOUT):  # never free MediaPipe under a frame in hand
            for cam in self.cameras:
                if cam.engine is not None:
                    cam.engine.close()
            self.worker.close_pool()
        self.cameras = []
        self.models = None
        if self._hri_input is not None:
            self._hri_input.close()
            self._hri_input = None
        if self.hri is not None:
            self.hri.close()
            self.hri = None
        for out in self._outputs.values():
            out.destroy(self)
        self._outputs = {}
        self._configured = False

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._deactivate()
        if self._configured:
            self._cleanup()
        return OK

    def on_error(self, state) -> TransitionCallbackReturn:
        self.log.error("a transition failed; cleaning up")
        self._deactivate()
        self._cleanup()
        return OK

    def destroy_node(self):
        logging.getLogger("fer_ros").removeHandler(self._log_handler)
        return super().destroy_node()

    # -- parameters --------------------------------------------------------------------------
    def _apply_descriptor(self, parameter, descriptor=None, check_read_only=True) -> SetParametersResult:
        """rclpy's type check says "Wrong parameter type, expected ..." without the name: add it, so every
        refusal names its parameter. (rclpy's private hook, pinned by requirements-ros.txt; the tests
        would show a change.)"""
        result = super()._apply_descriptor(parameter, descriptor, check_read_only)
        if not result.successful and parameter.name not in result.reason:
            result.reason = f"parameter {parameter.name}: {result.reason}"
        return result

    def _validate_parameters(self, params) -> SetParametersResult:
        """Pre-commit check: the engine's own validation, the node's ranges, and no start-up-only
        parameter while configured. Nothing is loaded here (an executor thread)."""
        engine = {p.name: p.value for p in params if p.name in ENGINE_PARAMS}
        node = {p.name: p.value for p in params if p.name in NODE_PARAMS}
        try:
            fixed = [n for n in node if NODE_PARAMS[n][2] == "configure"]
            if fixed and self._configured:
                raise ValueError(
                    f"{', '.join(fixed)} is read at configure: deactivate and clean up the node first "
                    "(plain mode: restart it)"
                )
            if engine:
                cfg = read_engine_config(self, engine)
                check_buildable(cfg, load_weights=False)
            if node and not self._configured:  # the live ones' ranges are in their descriptors
                NodeSettings(**{**settings_values(self), **node}).validate()
        except ValueError as e:
            self.log.warning(f"parameter change refused: {e}")
            return SetParametersResult(successful=False, reason=str(e))
        return SetParametersResult(successful=True)

    def _parameters_set(self, params) -> None:
        names = {p.name for p in params}
        if names & set(NODE_PARAMS):
            live = {k: v for k, v in settings_values(self).items() if NODE_PARAMS[k][2] == "live"}
            with self.lock:
                for k, v in live.items():
                    setattr(self.settings, k, v)
            if "diagnostics_period" in names and self._active:
                self._stop_timers()
                self._start_timers()
        if names & set(ENGINE_PARAMS) and self._configured:
            cfg = read_engine_config(self)
            with self.lock:
                self._pending_cfg = cfg
                self.lock.notify_all()

    # -- timers (timer group) -------------------------------------------------------------------
    def _check_silence(self) -> None:
        timeout = self.settings.silence_timeout
        if timeout <= 0:
            return
        now = time.monotonic()
        with self.lock:
            for cam in self.cameras:
                if cam.last_frame is not None and now - cam.last_frame > timeout and cam.pending is None:
                    cam.silence_due = True
                    cam.last_frame = None  # once per silence: the next frame sets it again
                    self.lock.notify_all()

    def _publish_diagnostics(self) -> None:
        now = time.monotonic()
        dt = max(now - self._diag_last, 1e-6)
        self._diag_last = now
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        with self.lock:
            device, model = self.device, self.model
            limits = Limits(self.settings.diagnostics_rate_fall, self.settings.diagnostics_max_dropped)
            windows = []
            for cam in self.cameras:
                counts = cam.counts.copy()
                deltas = counts.minus(cam.reported)
                cam.reported = counts
                windows.append(
                    Window(
                        cam.topic,
                        counts,
                        deltas,
                        dt,
                        list(cam.latency),
                        list(cam.busy),
                        list(cam.age),
                        cam.faces,
                        cam.usual_rate,
                    )
                )
                cam.usual_rate = updated_rate(cam.usual_rate, deltas.received / dt)
                cam.latency.clear()
                cam.busy.clear()
                cam.age.clear()
        for w in windows:
            arr.status.append(camera_status(f"{self.get_name()}: {w.topic}", w, device, model, limits))
        self.pub_diag.publish(arr)
