"""The node's worker thread: the one thread that runs engines and publishes their results.

The executor threads only store the newest message of each camera and raise requests
(new parameters, a silent camera, a face that left); this thread takes every camera's
newest frame at once and, between two batches, serves the requests. Engines, the ROS4HRI
publishers and each camera's publishing state are touched by this thread (and its front
threads, one camera each) only; the counters it shares with the diagnostics are updated
under the node's lock.

Per batch: for each camera decode -> stamp check (timeline.StampGuard: jitter is dropped;
a jump closes the open intervals with "time jump", stamped with the camera's last frame,
then resets) -> Engine.prepare (faces, crops, geometry; the cameras side by side, as
MediaPipe releases the GIL) -> ONE CNN call and ONE recurrent step for every face of every
camera (engine.run_models: all engines share the node's Models) -> per camera
FrameExpressions, interval events, ROS4HRI topics.

The two halves are pipelined, as ``fer-ros video`` runs an engine: while this thread runs
the networks and publishes batch k, the front thread prepares batch k+1 (frames that
arrived meanwhile), so two cameras, or one camera faster than a frame's whole cost, use
both cores. Requests and stamp jumps reset engines, which must see no frame between the
stages: the batch in flight is completed first (``_drain``).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sensor_msgs.msg import Image

from fer_ros.engine import BadFrame, Engine, EngineConfig, FrameResult, Models, PreparedFrame, run_models
from fer_ros.engine.config import REBUILD
from fer_ros.engine.spotter import END_FACE_LOST, END_STREAM_STOPPED, END_TIME_JUMP

from .camera import Camera
from .hri import hri_id
from .outputs import engine_stamp, frame_message, interval_message, stamp_ns
from .timeline import JITTER, JUMP

IDLE_WAIT = 0.5  # s: the longest the worker sleeps without a notification (a safety net only)
POOL_SIZE = 8  # ros4hri input: idle engines kept for the next faces (building one starts MediaPipe graphs)
# Cameras (or ROS4HRI faces) whose frames go through the networks in one batch; more wait for
# the next turn, so one batch's latency stays bounded however many faces a detector reports.
MAX_BATCH = 16
FRONT_THREADS = 2  # cameras whose front stage runs side by side: the 2 cores of a small robot computer


@dataclass
class _Job:
    """One camera's frame on its way through the batch."""

    cam: Camera
    msg: object
    received: float
    started: float
    bgr: object = None
    ns: int = 0
    stamp: float = 0.0  # what the engine gets (cam.stamps maps it back to the exact header stamp)
    tracked: frozenset = frozenset()  # ids the engine follows after this frame (read in the front stage)
    prepared: PreparedFrame | None = None
    result: FrameResult | None = None
    error: Exception | None = None


class Worker:
    """Runs ``node``'s engines on a thread of its own. ``node`` gives: ``lock`` (a Condition),
    ``cameras``, ``settings``, ``decode``, ``hri`` (HriFaces or None), ``hri_prefix``, ``ids``,
    ``cfg``, ``take_config()``, ``log``, ``warn(cam, kind, text)``, ``set_model(engine)``."""

    def __init__(self, node):
        self.node = node
        self._stop = False
        self._thread: threading.Thread | None = None
        self._turn = 0
        self.pool: list[Engine] = []  # ros4hri input: engines of faces that left, reset
        self._fronts: ThreadPoolExecutor | None = None
        self._ahead: ThreadPoolExecutor | None = None  # the front stage of the next batch
        self._in_flight: list[_Job] = []  # a batch past its front stage, waiting for the networks

    # -- lifetime -------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop = False
        self._fronts = ThreadPoolExecutor(FRONT_THREADS, thread_name_prefix="fer_front")
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="fer_ahead")
        self._thread = threading.Thread(target=self._run, name="fer_worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Ask the thread to stop after the frame in hand and wait for it; True once it has ended."""
        with self.node.lock:
            self._stop = True
            self.node.lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        ended = self._thread is None or not self._thread.is_alive()
        if ended:
            for pool in (self._fronts, self._ahead):
                if pool is not None:
                    pool.shutdown(wait=True)
            self._fronts = self._ahead = None
        return ended

    def close_pool(self) -> None:
        for engine in self.pool:
            engine.close()
        self.pool.clear()

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        node = self.node
        while True:
            with node.lock:
                while not self._stop and not self._work_waiting() and not self._in_flight:
                    node.lock.wait(IDLE_WAIT)
                if self._stop:
                    break
                cfg = node.take_config()
                retire = [c for c in node.cameras if c.gone]
                for c in retire:
                    node.cameras.remove(c)
                silent = [c for c in node.cameras if c.silence_due]
                for c in silent:
                    c.silence_due = False
                batch = self._take_frames()
            requests = (
                ("applying the new parameters", self.apply_config, [cfg] if cfg is not None else []),
                ("retiring a face", self.retire, retire),
                ("closing a silent camera", self.silence, silent),
            )
            if any(items for _, _, items in requests):
                self._drain()
            for what, serve, items in requests:
                for x in items:
                    try:
                        serve(x)
                    except Exception as e:  # never let one request take the node down
                        node.log.error(f"worker: {what} failed: {type(e).__name__}: {e}")
            self._advance(batch)
        self._drain()  # the frames in hand are published before the thread ends

    def _advance(self, batch: list[tuple[Camera, tuple]]) -> None:
        """One turn of the pipeline: ``batch``'s front stage starts on the front thread, the batch
        in flight goes through the networks and out here meanwhile, then ``batch`` is in flight."""
        jobs = self._admit_all(batch)
        ahead = self._ahead.submit(self._fronts_of, jobs) if jobs and self._ahead is not None else None
        self._drain()
        if ahead is not None:
            ahead.result()
        elif jobs:
            self._fronts_of(jobs)
        self._in_flight = jobs

    def _drain(self) -> None:
        """The batch in flight through the networks and out: after it no engine has a frame between
        its stages."""
        jobs, self._in_flight = self._in_flight, []
        if jobs:
            self._complete(jobs)

    def _work_waiting(self) -> bool:
        node = self.node
        return node.config_waiting() or any(c.pending or c.gone or c.silence_due for c in node.cameras)

    def _take_frames(self) -> list[tuple[Camera, tuple]]:
        """The newest frame of every camera that has one (at most MAX_BATCH, round-robin)."""
        cams = self.node.cameras
        batch = []
        for k in range(len(cams)):
            c = cams[(self._turn + k) % len(cams)]
            if c.pending is not None:
                batch.append((c, c.pending))
                c.pending = None
                if len(batch) == MAX_BATCH:
                    self._turn = (self._turn + k + 1) % len(cams)
                    break
        return batch

    def _failed(self, cam: Camera, e: Exception) -> None:
        with self.node.lock:
            cam.counts.failed += 1
        self.node.warn(cam, "error", f"{cam.topic}: frame failed: {type(e).__name__}: {e}", error=True)

    # -- one frame ----------------------------------------------------------------------------------
    def hri_id(self, cam: Camera, face_id: int) -> str:
        if self.node.hri is None:
            return ""
        return cam.upstream_id or hri_id(self.node.hri_prefix, face_id)

    def _admit_all(self, batch: list[tuple[Camera, tuple]]) -> list[_Job]:
        """The frames of ``batch`` ((camera, (message, receive time))) that go on to the engines. A
        failure costs its own camera's frame only (a failed network call later: the batch's)."""
        jobs = []
        for cam, (msg, received) in batch:
            try:
                job = self._admit(cam, msg, received)
            except Exception as e:
                self._failed(cam, e)
                continue
            if job is not None:
                jobs.append(job)
        return jobs

    def _fronts_of(self, jobs: list[_Job]) -> None:
        """The front stage of every job, the cameras side by side."""
        if len(jobs) > 1 and self._fronts is not None:
            list(self._fronts.map(self._front, jobs))
        else:
            for job in jobs:
                self._front(job)

    def _complete(self, jobs: list[_Job]) -> None:
        """The networks for every face of ``jobs`` (one batch per shared Models), then the outputs."""
        groups: dict[int, list[_Job]] = {}  # engines that share one Models go in one batch
        for job in jobs:
            if job.error is None:
                groups.setdefault(id(job.cam.engine.models), []).append(job)
        for group in groups.values():
            try:
                results = run_models(group[0].cam.engine.models, [(j.cam.engine, j.prepared) for j in group])
            except Exception as e:
                for job in group:
                    job.error = e
                continue
            for job, result in zip(group, results):
                job.result = result
        for job in jobs:
            try:
                if job.error is not None:
                    raise job.error
                self._publish(job)
            except Exception as e:
                self._failed(job.cam, e)

    def _admit(self, cam: Camera, msg, received: float) -> _Job | None:
        """Decode and check the stamp; None when the frame goes no further (logged, counted)."""
        node = self.node
        job = _Job(cam, msg, received, time.monotonic())
        try:
            job.bgr = node.decode(msg)
        except BadFrame as e:
            with node.lock:
                cam.counts.bad += 1
            node.warn(cam, "bad", f"{cam.topic}: frame skipped: {e}")
            return None
        if cam.engine is None:
            cam.engine = self._engine_for_face()
        job.ns = ns = stamp_ns(msg.header.stamp)
        if ns:
            cam.guard.jitter = node.settings.stamp_jitter
            kind = cam.guard.classify(ns)
            # (the log line goes out before the counter moves: whoever sees the count can read the line)
            if kind == JITTER:
                node.warn(
                    cam,
                    "jitter",
                    f"{cam.topic}: frame stamped {1000 * cam.guard.behind(ns):.1f} ms before the newest one "
                    f"(within stamp_jitter {node.settings.stamp_jitter:g} s): dropped, nothing reset",
                )
                with node.lock:
                    cam.counts.out_of_order += 1
                return None
            if kind == JUMP:
                self._drain()  # this camera's previous frame may be in flight: out before the reset
                node.warn(
                    cam,
                    "jump",
                    f"{cam.topic}: stamp went back {cam.guard.behind(ns):.3f} s (more than stamp_jitter "
                    f"{node.settings.stamp_jitter:g} s, e.g. a bag loop): open intervals closed ('time jump'), "
                    "tracks reset",
                )
                self.close(cam, END_TIME_JUMP)
                with node.lock:
                    cam.counts.time_jumps += 1
            # Accepted now, not when published: the next frame is checked before this one is out.
            cam.guard.accept(ns)
        job.stamp = engine_stamp(cam.stamps, msg.header.stamp)
        cam.silenced = False
        return job

    @staticmethod
    def _front(job: _Job) -> None:
        try:
            job.prepared = job.cam.engine.prepare(job.bgr, job.stamp)
            job.tracked = frozenset(job.cam.engine.tracked_ids)  # here: the next frame's front stage changes them
        except Exception as e:
            job.error = e

    def _publish(self, job: _Job) -> None:
        node, cam, result, header, ns = self.node, job.cam, job.result, job.msg.header, job.ns
        if result.error:  # the engine refused the frame; events (if any) still go out
            with node.lock:
                cam.counts.bad += 1
            node.warn(cam, "bad", f"{cam.topic}: frame skipped: {result.error}")
            self.publish_events(cam, result.events, header)
            return
        size = (job.bgr.shape[1], job.bgr.shape[0])
        ids = {f.id: self.hri_id(cam, f.id) for f in result.faces}
        cam.outputs.frames.publish(frame_message(result, header, size, ids))
        self.publish_events(cam, result.events, header)
        if node.hri is not None:
            self._hri_frame(cam, header, size, result, ids, job.tracked)
        cam.last_header = header
        done = time.monotonic()
        now = node.get_clock().now().nanoseconds
        with node.lock:
            cam.counts.processed += 1
            cam.faces = len(result.faces)
            cam.latency.append(done - job.received)
            cam.busy.append(done - job.started)
            if now > 0 and ns > 0:
                cam.age.append((now - ns) * 1e-9)

    def _hri_frame(self, cam: Camera, header, size, result, ids: dict, tracked: frozenset) -> None:
        hri = self.node.hri
        crops = result.features.crops if result.features is not None else None
        hri.frame(cam.topic, header, None if cam.upstream_id else size, [(ids[f.id], f) for f in result.faces], crops)
        cam.live_hri |= set(ids.values())
        if not cam.upstream_id:  # ids end when the engine stops tracking them (a detector's end with it)
            ended = cam.live_hri - {self.hri_id(cam, i) for i in tracked}
            if ended:
                hri.end(ended)
                cam.live_hri -= ended

    def publish_events(self, cam: Camera, events, header) -> None:
        if header is None:
            header = Image().header
        for ev in events:
            cam.outputs.intervals.publish(interval_message(ev, header, cam.stamps, self.hri_id(cam, ev.face_id)))

    # -- requests between frames ------------------------------------------------------------------
    def close(self, cam: Camera, reason: str) -> int:
        """End every face of ``cam`` (open intervals closed with ``reason``, stamped with its last
        frame) and start a new timeline. Returns the number of events published."""
        events = cam.engine.reset(reason) if cam.engine is not None else []
        self.publish_events(cam, events, cam.last_header)
        if self.node.hri is not None and (cam.live_hri or cam.last_header is not None):
            self.node.hri.end(cam.live_hri, cam.last_header, source=cam.topic)
        cam.live_hri = set()
        cam.guard.reset()
        return len(events)

    def silence(self, cam: Camera) -> None:
        """No frame for silence_timeout: close the camera's open intervals ("stream stopped")."""
        if cam.silenced or cam.engine is None:
            return
        self.node.log.warning(
            f"{cam.topic}: no frames for {self.node.settings.silence_timeout:g} s: "
            "open intervals closed ('stream stopped'), tracks reset"
        )
        self.close(cam, END_STREAM_STOPPED)
        cam.silenced = True

    def retire(self, cam: Camera) -> None:
        """ros4hri input: the detector stopped tracking the face; its engine goes back to the pool."""
        if cam.engine is not None:
            self.close(cam, END_FACE_LOST)
            if len(self.pool) < POOL_SIZE:
                self.pool.append(cam.engine)
            else:
                cam.engine.close()
            cam.engine = None
        if self.node.hri is not None:
            self.node.hri.end([cam.upstream_id])

    def _engine_for_face(self) -> Engine:
        """ros4hri input: an engine for a new face (from the pool: no model load)."""
        if self.pool:
            return self.pool.pop()
        return self.node.new_engine(dataclasses.replace(self.node.cfg, aligned=True))

    def finish_all(self, reason: str = END_STREAM_STOPPED) -> int:
        """Deactivate / stop (the thread has ended): close every camera's open intervals."""
        return sum(self.close(cam, reason) for cam in self.node.cameras if cam.engine is not None)

    def apply_config(self, cfg: EngineConfig) -> None:
        """New engine parameters: new engines (model, weights, device, ...) or the new values in
        the running ones. A failed rebuild keeps the old engines serving."""
        node = self.node
        old = node.cfg
        if any(getattr(old, k) != getattr(cfg, k) for k in REBUILD):
            cams = [c for c in node.cameras if c.engine is not None]
            try:
                models = Models(cfg)
                engines = [node.new_engine(self._camera_cfg(cfg, c), models) for c in cams]
                probe = engines[0] if engines else node.new_engine(cfg, models)
            except Exception as e:
                node.log.error(
                    f"could not build the engine for the new parameters, keeping the old one: {type(e).__name__}: {e}"
                )
                return
            for cam, engine in zip(cams, engines):
                self.close(cam, END_STREAM_STOPPED)
                cam.engine.close()
                cam.engine = engine
            self.close_pool()
            node.models = models
            node.set_model(probe)
            if not engines:
                probe.close()
            node.log.info(f"engines rebuilt: model {probe.model_name} on {probe.device}")
        else:
            for cam in node.cameras:
                if cam.engine is not None:
                    cam.engine.reconfigure(self._camera_cfg(cfg, cam))
            for engine in self.pool:
                engine.reconfigure(self._camera_cfg(cfg, Camera("", upstream_id="pool")))
        node.cfg = cfg

    @staticmethod
    def _camera_cfg(cfg: EngineConfig, cam: Camera) -> EngineConfig:
        cfg = copy.deepcopy(cfg)
        return dataclasses.replace(cfg, aligned=True) if cam.upstream_id else cfg
