"""`fer-ros bench`: the engine's frames/s and per-stage milliseconds against the floor of its parts.

Scenes at 640x480 built from the sample clip: 1, 2, 4 and 8 faces (the clip letterboxed,
then tiled 1x2, 2x2 and 4x2 at different moments of the clip). Frames are decoded up
front, so the figures are the engine's own. For each scene it prints:

- the engine: frames/s end to end (``Engine.process``) and milliseconds per frame in each
  stage (decode, detect = detection and landmark following, align, cnn, recurrent, spotter);
- pipelined: frames/s with the front stage of frame t+1 (``Engine.prepare``) in a thread
  beside the networks of frame t (``Engine.complete``), as ``fer-ros video`` runs;
- the floor: the same work done by the bare parts with no engine around them (MediaPipe's
  face detectors on the frame, a tracking-mode face mesh on a face crop, the CNN on a batch
  of crops), counted as the engine used them on that scene (the detector as often as it
  ran, one mesh per face per frame, one CNN batch per frame);
- the ratio floor / engine: 1 would mean the engine adds nothing to its parts.

``--json FILE`` writes every figure for comparison across commits. Prints only; nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch

from fer_ros.engine import STAGES, Engine, EngineConfig
from fer_ros.engine.config import MODELS
from fer_ros.io.media import DEFAULT_INPUT, media_path
from fer_ros.io.sources import read_frames

from .common import device, positive_int

SIZE = (640, 480)
FACES = (1, 2, 4, 8)
GRIDS = {1: (1, 1), 2: (2, 1), 4: (2, 2), 8: (4, 2)}  # columns x rows of tiles
WARMUP = 10


def letterbox(image: np.ndarray, size=SIZE) -> np.ndarray:
    w, h = size
    s = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, (round(image.shape[1] * s), round(image.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def scene(clip: list[np.ndarray], faces: int, frames: int) -> list[np.ndarray]:
    """``frames`` 640x480 frames with ``faces`` tiles of the clip, each tile at another moment."""
    cols, rows = GRIDS[faces]
    tile = (SIZE[0] // cols, SIZE[1] // rows)
    out = []
    for i in range(frames):
        tiles = [letterbox(clip[(i + 37 * k) % len(clip)], tile) for k in range(faces)]
        out.append(np.vstack([np.hstack(tiles[r * cols : (r + 1) * cols]) for r in range(rows)]))
    return out


def _ms(fn, repeats: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return 1000 * (time.perf_counter() - t0) / repeats


def bare_parts(frame: np.ndarray, faces: int, encoder, device: torch.device, repeats: int = 20) -> dict[str, float]:
    """Milliseconds of the bare parts on one scene frame: both detectors on the frame, one
    tracking-mode mesh on one face crop, the CNN on a batch of ``faces`` crops (the network alone,
    in the runtime the engine runs it: ``encoder.network``)."""
    import mediapipe as mp

    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    detectors = [mp.solutions.face_detection.FaceDetection(model_selection=s) for s in (1, 0)]
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
    try:
        detect = _ms(lambda: [d.process(rgb) for d in detectors], repeats)
        found = detectors[1].process(rgb).detections or detectors[0].process(rgb).detections
        rb = found[0].location_data.relative_bounding_box
        h, w = rgb.shape[:2]
        side = 2 * max(rb.width * w, rb.height * h)
        cx, cy = (rb.xmin + rb.width / 2) * w, (rb.ymin + rb.height / 2) * h
        m = np.float32([[256 / side, 0, 128 - 256 / side * cx], [0, 256 / side, 128 - 256 / side * cy]])
        crop = cv2.warpAffine(rgb, m, (256, 256))
        mesh_ms = _ms(lambda: mesh.process(crop), repeats)
    finally:
        for d in detectors:
            d.close()
        mesh.close()
    x = torch.zeros(faces, 1, encoder.crop_size, encoder.crop_size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def cnn_batch():
        with torch.inference_mode():
            encoder.network(x)
        sync()

    return {"detect": detect, "mesh": mesh_ms, "cnn": _ms(cnn_batch, repeats)}


def _warm_up(engine: Engine, frames: list[np.ndarray]) -> None:
    """A few frames of the scene first (graphs, caches, allocator), then a fresh stream."""
    engine.reset()
    for i, f in enumerate(frames[:WARMUP]):
        engine.process(f, i / 30)
    engine.reset()


def run_engine(engine: Engine, frames: list[np.ndarray]) -> dict:
    _warm_up(engine, frames)
    engine.reset_timings()
    runs0 = engine.detection_runs
    faces = 0
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        faces += len(engine.process(f, 100 + i / 30).faces)
        sync()
    wall = time.perf_counter() - t0
    n = len(frames)
    return {
        "fps": n / wall,
        "ms": 1000 * wall / n,
        "faces": faces / n,
        "detections_per_frame": (engine.detection_runs - runs0) / n,
        "stages_ms": {k: 1000 * s / n for k, s in engine.stage_seconds().items()},
    }


def run_pipelined(engine: Engine, frames: list[np.ndarray]) -> float:
    """Frames/s with frame t+1's front stage in a thread beside frame t's networks (results in order)."""
    _warm_up(engine, frames)
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)
    with ThreadPoolExecutor(1, thread_name_prefix="bench-front") as front:
        t0 = time.perf_counter()
        ahead = front.submit(engine.prepare, frames[0], 100.0)
        for i in range(len(frames)):
            prepared = ahead.result()
            if i + 1 < len(frames):
                ahead = front.submit(engine.prepare, frames[i + 1], 100 + (i + 1) / 30)
            engine.complete(prepared)
            sync()
        wall = time.perf_counter() - t0
    engine.reset()
    return len(frames) / wall


def run_bench(frames: int = 150, device: str = "auto", model: str = "recurrent", weights=None, faces=FACES) -> dict:
    clip = read_frames(media_path(DEFAULT_INPUT), frames + 37 * max(faces) + 1)
    cfg = EngineConfig(model=model, weights=weights, device=device)
    report: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "cuda": torch.cuda.is_available(),
        },
        "config": {"model": model, "device": device, "frames": frames, "size": SIZE, "detect_every": cfg.detect_every},
        "scenes": [],
    }
    print(
        f"fer-ros bench: {frames} frames per scene at {SIZE[0]}x{SIZE[1]}, model={model}, "
        f"detect_every={cfg.detect_every}, cpu cores={os.cpu_count()}"
    )
    head = (
        f"{'faces':>5s} {'frames/s':>8s} {'pipelined':>9s} "
        + " ".join(f"{s:>9s}" for s in STAGES)
        + f" {'det/frame':>9s} {'floor f/s':>9s} {'ratio':>6s}"
    )
    print(head + "\n" + "-" * len(head))
    with Engine(cfg) as engine:
        for n in faces:
            frames_n = scene(clip, n, frames)
            got = run_engine(engine, frames_n)
            got["pipelined_fps"] = run_pipelined(engine, frames_n)
            parts = bare_parts(frames_n[0], n, engine.models.encoder, engine.device)
            floor_ms = got["detections_per_frame"] * parts["detect"] + got["faces"] * parts["mesh"] + parts["cnn"]
            row = {
                "faces": n,
                **got,
                "bare_ms": parts,
                "floor_ms": floor_ms,
                "floor_fps": 1000 / floor_ms,
                "ratio": floor_ms / got["ms"],
            }
            report["scenes"].append(row)
            print(
                f"{n:5d} {got['fps']:8.1f} {got['pipelined_fps']:9.1f} "
                + " ".join(f"{got['stages_ms'][s]:9.2f}" for s in STAGES)
                + f" {got['detections_per_frame']:9.2f} {row['floor_fps']:9.1f} {row['ratio']:6.2f}"
            )
    print(
        "stages are milliseconds per frame (of the sequential run); pipelined: frame t+1's front stage beside "
        "frame t's networks; floor: the bare parts (detectors "
        f"{report['scenes'][0]['bare_ms']['detect']:.1f} ms a run, tracking mesh "
        f"{report['scenes'][0]['bare_ms']['mesh']:.1f} ms a face, CNN batch) as the engine used them"
    )
    return report


STREAM_FPS = 30.0  # each stream is a 30 Hz camera: a round of K frames must take at most 1/30 s


def run_streams(
    max_streams: int, frames: int = 90, device: str = "auto", model: str = "recurrent", weights=None
) -> dict:
    """K concurrent 640x480 one-face streams through one EngineGroup (one batched CNN call and
    recurrent step per round), K = 1, 2, 4, ... up to ``max_streams``: p50 / p95 latency of a round
    (every stream's frame processed) and whether K streams keep up with 30 Hz (p95 <= 1/30 s)."""
    from fer_ros.engine import EngineGroup

    clip = read_frames(media_path(DEFAULT_INPUT), frames + 37 * 64 + 1)
    one_face = scene(clip, 1, frames + 37 * 64)
    cfg = EngineConfig(model=model, weights=weights, device=device)
    rows, k = [], 1
    print(f"streams: 640x480 at {STREAM_FPS:.0f} Hz each through one batched model, {frames} rounds")
    while k <= max_streams:
        with EngineGroup(cfg, streams=k) as group:
            lat = []
            for i in range(frames + WARMUP):
                t0 = time.perf_counter()
                group.process([(s, one_face[i + 37 * s], i / STREAM_FPS) for s in range(k)])
                if group.models.device.type == "cuda":
                    torch.cuda.synchronize()
                if i >= WARMUP:
                    lat.append(1000 * (time.perf_counter() - t0))
        p50, p95 = float(np.percentile(lat, 50)), float(np.percentile(lat, 95))
        keeps = p95 <= 1000 / STREAM_FPS
        rows.append({"streams": k, "p50_ms": p50, "p95_ms": p95, "keeps_up": keeps})
        print(
            f"  {k:3d} streams: round p50 {p50:6.1f} ms, p95 {p95:6.1f} ms, {'keeps up' if keeps else 'falls behind'}"
        )
        if not keeps:
            break
        k *= 2
    best = max((r["streams"] for r in rows if r["keeps_up"]), default=0)
    print(f"largest number of streams that keeps up: {best}")
    return {"streams": rows, "max_streams_keeping_up": best}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="frames/s and per-stage ms for 1, 2, 4 and 8 faces, against the floor of the bare parts",
        description="Scenes at 640x480 from the sample clip with 1, 2, 4 and 8 faces. Prints the engine's "
        "frames/s and per-stage milliseconds, the floor of its bare parts (detectors, tracking "
        "mesh, CNN batch) and their ratio. Asserts nothing.",
    )
    p.add_argument("--frames", type=positive_int, default=150, help="frames per scene (after warm-up)")
    p.add_argument("--device", type=device, default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--model", choices=MODELS, default="recurrent")
    p.add_argument("--weights", help="model file (.safetensors)")
    p.add_argument("--faces", type=int, nargs="+", default=list(FACES), choices=FACES, help="scenes to measure")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE (JSON)")
    p.add_argument(
        "--streams",
        type=positive_int,
        metavar="K",
        help="instead: up to K concurrent 30 Hz streams through one batched model (K = 1, 2, 4, ...); "
        "the largest that keeps up and the p50 / p95 latency of a round",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.streams:
        report = run_streams(args.streams, min(args.frames, 90), args.device, args.model, args.weights)
    else:
        report = run_bench(args.frames, args.device, args.model, args.weights, tuple(args.faces))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"figures: {args.json}")
    return 0
