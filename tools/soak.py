"""Soak: fuzzed frames through the engine (as `fer-ros video` runs it) and through the live ROS node,
for MINUTES. Prints frames processed, errors logged, crashes, RSS at start and end, and file
descriptor and thread counts. Targets: no crash, RSS growth under 1 KB per frame, no fd or
thread leak. Prints; asserts nothing (the exit status is 1 when a target is missed).

    tools/with_ros.sh .venv/bin/python tools/soak.py --minutes 10            # engine and node
    .venv/bin/python tools/soak.py --minutes 10 --no-node                    # engine only, no ROS

Engine part (this process): the sample clip, looped, with faults mixed in (unreadable frames,
odd shapes, dtypes and sizes, noise, stamps jumping back like a looping bag, stamp jitter),
through ``run_video`` (prefetch thread, engine, streaming writer with annotated video and the
timeline drawn at the end). RSS is sampled every SAMPLE_EVERY frames; growth is measured from
the end of the warm-up (WARMUP_FRAMES: allocators and MediaPipe settle) to the last sample.

Node part (a child process of this script, itself starting the node as `fer_ros.ros.node`
on a private ROS domain over loopback): sensor_msgs/Image of the clip with faults (unknown
encodings, wrong steps, truncated data, tiny and empty images, stamps going back) published at
--rate Hz; the node's RSS, fds and threads read from /proc/<pid>.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fer_ros.io.media import DEFAULT_INPUT, media_path  # noqa: E402
from fer_ros.io.sources import read_frames  # noqa: E402

# Frames before the start figures are taken: the allocator's pools grow to the largest frames of
# the mix (4x-sized ones among them) and MediaPipe's caches fill; measured to settle within ~1000.
WARMUP_FRAMES = 1500
SAMPLE_EVERY = 200  # frames between two RSS samples
FPS = 30.0
TARGET_BYTES_PER_FRAME = 1024


# -- /proc figures ------------------------------------------------------------------------------------
def proc_figures(pid: int | str = "self") -> dict:
    """RSS (kB), open file descriptors and threads of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
    }


def slope(samples: list[tuple[int, int]]) -> float:
    """Least-squares growth in bytes per frame of (frame, rss_kb) samples."""
    if len(samples) < 2:
        return 0.0
    x = np.array([s[0] for s in samples], float)
    y = np.array([s[1] for s in samples], float) * 1024
    return float(np.polyfit(x, y, 1)[0])


def clip_frames(limit: int | None = None) -> list[np.ndarray]:
    return read_frames(media_path(DEFAULT_INPUT), limit)


# -- the engine part ----------------------------------------------------------------------------------
def fault(rng: random.Random, frame: np.ndarray):
    """A faulty version of ``frame`` (or something that is not a frame at all)."""
    kind = rng.choice(
        ["none", "empty", "one-pixel", "five-channels", "int32", "nan", "uint16", "grey", "bgra", "huge", "tiny"]
        + ["noise", "float", "strided", "black"]
    )
    return kind, {
        "none": lambda: None,
        "empty": lambda: np.zeros((0, 0, 3), np.uint8),
        "one-pixel": lambda: np.zeros((1, 1, 3), np.uint8),
        "five-channels": lambda: np.zeros((*frame.shape[:2], 5), np.uint8),
        "int32": lambda: frame.astype(np.int32),
        "nan": lambda: np.full(frame.shape, np.nan, np.float32),
        "uint16": lambda: frame.astype(np.uint16) * 257,
        "grey": lambda: cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY),
        "bgra": lambda: cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA),
        "huge": lambda: cv2.resize(frame, (frame.shape[1] * 4, frame.shape[0] * 4)),
        "tiny": lambda: cv2.resize(frame, (24, 16)),
        "noise": lambda: np.frombuffer(rng.randbytes(frame.size), np.uint8).reshape(frame.shape),
        "float": lambda: frame / 255.0,
        "strided": lambda: frame[::-1, ::2],
        "black": lambda: np.zeros_like(frame),
    }[kind]()


class EngineSoak:
    """The fuzzed stream, as a Source for run_video, sampling this process's figures as it goes."""

    def __init__(self, seconds: float, seed: int, fault_rate: float):
        self.seconds, self.rng, self.fault_rate = seconds, random.Random(seed), fault_rate
        self.frames = clip_frames()
        self.faults: Counter = Counter()
        self.samples: list[tuple[int, int]] = []  # (frame, rss_kb) from the end of the warm-up
        self.start: dict | None = None
        self.last: dict | None = None
        self.count = 0

    def stream(self):
        from fer_ros.io.sources import Frame

        t_end = time.monotonic() + self.seconds
        stamp, k = 0.0, 0
        while time.monotonic() < t_end:
            frame = self.frames[k % len(self.frames)]
            k += 1
            r = self.rng.random()
            if r < self.fault_rate:
                kind, image = fault(self.rng, frame)
                self.faults[kind] += 1
            else:
                image = frame
            r = self.rng.random()
            if r < 0.002:  # a looping bag: stamps start over
                stamp, self.faults["stamp-back"] = 0.0, self.faults["stamp-back"] + 1
            elif r < 0.01:  # jitter: a stamp slightly behind the last one
                stamp, self.faults["stamp-jitter"] = max(0.0, stamp - 0.004), self.faults["stamp-jitter"] + 1
            else:
                stamp += 1 / FPS
            yield Frame(self.count, stamp, image, f"frame {self.count}")
            self.count += 1
            self._sample()

    def _sample(self) -> None:
        if self.count == WARMUP_FRAMES:
            self.start = proc_figures()
        if self.count >= WARMUP_FRAMES and self.count % SAMPLE_EVERY == 0:
            figures = proc_figures()
            self.samples.append((self.count, figures["rss_kb"]))
            self.last = figures


def _prime_matplotlib() -> None:
    """Draw one timeline first: matplotlib keeps its font files open in a cache (by design, once per
    process), which must not count as descriptors left open by the run."""
    import io

    from fer_ros.io.plots import plot_timeline

    t = np.arange(3.0)
    plot_timeline({1: {"t": t, "scores": np.full((3, 7), 1 / 7), "intensity": t / 3}}, [], io.BytesIO())


class CountingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.count: Counter = Counter()

    def emit(self, record):
        self.count[kind_of(record.getMessage())] += 1


def kind_of(message: str) -> str:
    """A log message without its topic, frame number and details: one key per kind of warning."""
    parts = message.split(": ")
    while len(parts) > 1 and (parts[0].startswith("/") or parts[0].startswith("frame ")):
        parts = parts[1:]  # "/image_raw: frame skipped: <why>" and "frame 12 skipped: <why>"
    return re.sub(r"[\d.]+", "N", parts[0].split(" (")[0])[:60]


def engine_soak(seconds: float, model: str, seed: int, fault_rate: float) -> dict:
    from fer_ros.cli.video import run_video
    from fer_ros.engine import Engine, EngineConfig
    from fer_ros.io.sources import Source

    counter = CountingHandler()  # warnings are counted, not printed
    logger = logging.getLogger("fer_ros")
    logger.addHandler(counter)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    soak = EngineSoak(seconds, seed, fault_rate)
    before = proc_figures()
    crashes: list[str] = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, Engine(EngineConfig(model=model, device="cpu")) as engine:
        _prime_matplotlib()
        engine_ready = proc_figures()
        try:
            outputs = run_video(Source(soak.stream(), None, FPS, "fuzzed"), tmp, engine=engine, progress=False)
            lines = sum(1 for _ in open(outputs["frames"]))
        except Exception as e:  # a crash: what the soak is looking for
            crashes.append(f"{type(e).__name__}: {e}")
            lines = 0
    after = proc_figures()
    return {
        "part": "engine",
        "model": model,
        "seconds": time.monotonic() - t0,
        "frames": soak.count,
        "frames_written": lines,
        "faults": dict(soak.faults),
        "warnings": dict(counter.count),
        "crashes": crashes,
        "before": before,
        "engine_ready": engine_ready,
        "start": soak.start,
        "end": soak.last,
        "after": after,
        "samples": soak.samples,
        "slope": slope(soak.samples),
    }


# -- the node part (a child process: rclpy stays out of the engine part's figures) ----------------------
def node_messages(rng: random.Random, frame: np.ndarray, k: int):
    """A sensor_msgs/Image for the node: mostly good (several encodings), some broken."""
    sys.path.insert(0, str(ROOT / "test"))
    from ros_harness import image_msg, stamp_of

    stamp = stamp_of(k)
    r = rng.random()
    if r < 0.90:
        encoding = rng.choice(["bgr8", "bgr8", "bgr8", "rgb8", "mono8", "bgra8"])
        pixels = {
            "bgr8": frame,
            "rgb8": frame[:, :, ::-1].copy(),
            "mono8": cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY),
            "bgra8": cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA),
        }[encoding]
        return "good", image_msg(pixels, stamp, encoding=encoding)
    kind = rng.choice(["unknown-encoding", "wrong-step", "truncated", "tiny", "empty"])
    msg = image_msg(frame, stamp)
    if kind == "unknown-encoding":
        msg.encoding = "yuv422_yuy2"
    elif kind == "wrong-step":
        msg.step = msg.step - 7
    elif kind == "truncated":
        msg.data = msg.data[: len(msg.data) // 3]
    elif kind == "tiny":
        msg = image_msg(frame[:4, :4], stamp)
    else:
        msg = image_msg(frame[:0, :0], stamp)
    return kind, msg


def node_soak(seconds: float, model: str, seed: int, rate: float) -> dict:
    sys.path.insert(0, str(ROOT / "test"))
    from ros_harness import Client, NodeProcess, new_domain_id

    rng = random.Random(seed)
    frames = [cv2.resize(f, (320, 180)) for f in clip_frames(240)]  # the node's cost, not the wire's
    domain = new_domain_id()
    sent: Counter = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        node = NodeProcess(domain, {"model": model, "device": "cpu", "image_qos": "reliable"}, Path(tmp))
        client = Client(domain)
        received, figures, crashed = 0, [], None
        try:
            client.wait_ready(node)
            t0 = time.monotonic()
            k = 0
            while time.monotonic() - t0 < seconds:
                kind, msg = node_messages(rng, frames[k % len(frames)], k if rng.random() > 0.001 else 0)
                client.publish(msg)
                sent[kind] += 1
                k += 1
                if k % int(rate * 5) == 0:  # every ~5 s: count and forget what arrived, sample the node
                    with client.lock:
                        received += len(client.frames)
                        client.frames.clear()
                        client.arrival.clear()
                        client.intervals.clear()
                        client.diagnostics.clear()
                    if not node.alive():
                        crashed = f"node exited with {node.proc.returncode}"
                        break
                    figures.append((received, proc_figures(node.proc.pid)))
                time.sleep(max(0.0, t0 + k / rate - time.monotonic()))
            time.sleep(2.0)
            with client.lock:
                received += len(client.frames)
            output = node.output()
            alive = node.alive()
        finally:
            client.close()
            rc = node.signal()
    start = next((f for n, f in figures if n >= WARMUP_FRAMES // 2), figures[0][1] if figures else None)
    start_frames = next((n for n, f in figures if f is start), 0)
    samples = [(n, f["rss_kb"]) for n, f in figures if n >= start_frames]
    logged = [line for line in output.splitlines() if "[WARN]" in line or "[ERROR]" in line]
    warnings = Counter(kind_of(line.split("]: ", 1)[-1]) for line in logged)
    return {
        "part": "node",
        "model": model,
        "sent": dict(sent),
        "frames": received,
        "crashes": [crashed] if crashed else ([] if alive else ["node died"]),
        "exit": rc,
        "warnings": dict(warnings),
        "start": start,
        "end": figures[-1][1] if figures else None,
        "samples": samples,
        "slope": slope(samples),
    }


# -- report -------------------------------------------------------------------------------------------
def report(r: dict) -> list[str]:
    start, end = r.get("start") or {}, r.get("end") or {}
    lines = [f"{r['part']} ({r['model']}):"]
    if r["part"] == "engine":
        lines.append(
            f"  frames processed   {r['frames']} in {r['seconds']:.0f} s ({r['frames_written']} lines written)"
        )
        lines.append(f"  faults injected    {sum(r['faults'].values())} ({', '.join(sorted(r['faults']))})")
    else:
        lines.append(f"  frames published   {sum(r['sent'].values())} ({r['sent'].get('good', 0)} good)")
        lines.append(f"  frames processed   {r['frames']} (FrameExpressions received; the node keeps the newest)")
        lines.append(f"  node exit status   {r['exit']}")
    lines.append(f"  warnings logged    {sum(r['warnings'].values())} ({len(r['warnings'])} kinds)")
    lines.append(f"  crashes            {len(r['crashes'])} {'; '.join(r['crashes'])}")
    if start and end:
        lines.append(f"  RSS                {start['rss_kb'] / 1024:.1f} MiB -> {end['rss_kb'] / 1024:.1f} MiB")
        lines.append(f"  RSS growth         {r['slope']:.1f} bytes/frame (least squares over the samples)")
        lines.append(f"  fds                {start['fds']} -> {end['fds']}")
        lines.append(f"  threads            {start['threads']} -> {end['threads']}")
    if r["part"] == "engine":
        lines.append(
            f"  this process       before the run: {r['engine_ready']['fds']} fds, {r['engine_ready']['threads']} "
            f"threads; after: {r['after']['fds']} fds, {r['after']['threads']} threads"
        )
    return lines


def verdict(r: dict) -> list[str]:
    missed = []
    if r["crashes"]:
        missed.append(f"{r['part']}: crashes")
    if r.get("start") and r.get("end"):
        if r["slope"] > TARGET_BYTES_PER_FRAME:
            missed.append(f"{r['part']}: RSS grows {r['slope']:.0f} bytes/frame")
        if r["end"]["fds"] > r["start"]["fds"]:
            missed.append(f"{r['part']}: fds {r['start']['fds']} -> {r['end']['fds']}")
        if r["end"]["threads"] > r["start"]["threads"]:
            missed.append(f"{r['part']}: threads {r['start']['threads']} -> {r['end']['threads']}")
    if r["part"] == "engine" and r["after"]["fds"] > r["engine_ready"]["fds"]:
        missed.append("engine: fds left open after the run")
    if r["part"] == "engine" and r["after"]["threads"] > r["engine_ready"]["threads"]:
        missed.append("engine: threads left running after the run")
    return missed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--model", default="baseline", choices=("baseline", "recurrent"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fault-rate", type=float, default=0.05, help="share of faulty frames (engine part)")
    p.add_argument("--rate", type=float, default=10.0, help="node part: images published per second")
    p.add_argument("--no-node", action="store_true", help="the engine part only (no ROS needed)")
    p.add_argument("--part", choices=("engine", "node"), help=argparse.SUPPRESS)  # a child's part
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args()
    seconds = args.minutes * 60
    if args.part == "node":
        print(json.dumps(node_soak(seconds, args.model, args.seed, args.rate)))
        return 0
    child = None
    if not args.no_node:
        cmd = [sys.executable, __file__, "--part", "node", "--minutes", str(args.minutes)]
        cmd += ["--model", args.model, "--seed", str(args.seed), "--rate", str(args.rate)]
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    print(f"soak: {args.minutes:g} min, model {args.model}, seed {args.seed}, cpu cores {os.cpu_count()}", flush=True)
    results = [engine_soak(seconds, args.model, args.seed, args.fault_rate)]
    if child is not None:
        out, _ = child.communicate()
        try:
            results.append(json.loads(out.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            results.append({"part": "node", "model": args.model, "crashes": [f"node part exited {child.returncode}"],
                            "sent": {}, "frames": 0, "exit": None, "warnings": {}, "slope": 0.0})  # fmt: skip
    for r in results:
        print("\n".join(report(r)))
    missed = [m for r in results for m in verdict(r)]
    print(
        "targets: "
        + ("all met (no crash, RSS < 1 KB/frame, no fd or thread leak)" if not missed else "; ".join(missed))
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
