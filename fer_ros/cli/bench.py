"""`fer-ros bench`: per-stage milliseconds and end-to-end frames/s on the sample clip.

Two scenes at 640x480: the clip letterboxed (1 face) and a 2x2 mosaic of it (4 faces).
Frames are decoded up front so the figures are the engine's own. Prints only.
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
import torch

from fer_ros.engine import STAGES, Engine, EngineConfig
from fer_ros.engine.config import MODELS
from fer_ros.io.media import DEFAULT_INPUT, media_path

from .common import positive_int

SIZE = (640, 480)


def letterbox(image: np.ndarray, size=SIZE) -> np.ndarray:
    w, h = size
    s = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, (round(image.shape[1] * s), round(image.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def scenes(frames: int) -> dict[str, list[np.ndarray]]:
    cap = cv2.VideoCapture(str(media_path(DEFAULT_INPUT)))
    clip = []
    while len(clip) < frames + 4 * 10:
        ok, f = cap.read()
        if not ok:
            break
        clip.append(f)
    cap.release()
    single = [letterbox(f) for f in clip[:frames]]
    half = (SIZE[0] // 2, SIZE[1] // 2)
    mosaic = []
    for i in range(min(frames, len(clip) - 30)):
        tiles = [letterbox(clip[i + 10 * k], half) for k in range(4)]  # four phases of the clip
        mosaic.append(np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])]))
    return {"1 face": single, "4 faces": mosaic}


def measure(engine: Engine, frames: list[np.ndarray], warmup: int = 10) -> tuple[dict, float, float]:
    engine.reset()  # a new scene: stamps restart
    for i, f in enumerate(frames[:warmup]):
        engine.process(f, i / 30)
    engine.reset()
    engine.reset_timings()
    faces = 0
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        faces += len(engine.process(f, 100 + i / 30).faces)
        sync()
    wall = time.perf_counter() - t0
    n = len(frames)
    return {k: 1000 * s / n for k, s in engine.stage_seconds().items()}, n / wall, faces / n


def run_bench(frames: int = 150, devices=None, model: str = "recurrent", weights=None, detect_every=(1, 3)) -> None:
    devices = devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    data = scenes(frames)
    print(f"fer-ros bench: {frames} frames per row at {SIZE[0]}x{SIZE[1]}, model={model}, cpu cores={os.cpu_count()}")
    header = (
        f"{'device':6s} {'scene':8s} {'det/N':>5s} "
        + " ".join(f"{s:>9s}" for s in STAGES)
        + f" {'faces':>5s} {'frames/s':>8s}"
    )
    print(header + "\n" + "-" * len(header))
    for device in devices:
        for every in detect_every:
            engine = Engine(EngineConfig(model=model, weights=weights, device=device, detect_every=every))
            for name, scene in data.items():
                ms, fps, faces = measure(engine, scene)
                print(
                    f"{device:6s} {name:8s} {every:5d} "
                    + " ".join(f"{ms[s]:9.2f}" for s in STAGES)
                    + f" {faces:5.2f} {fps:8.1f}"
                )
    print("stage columns are milliseconds per frame; frames/s is end to end (engine.process)")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="per-stage milliseconds and frames/s on the sample clip",
        description="1 face (the clip letterboxed to 640x480) and 4 faces (a 2x2 mosaic "
        "at 640x480), on CPU and on CUDA when present. Prints; asserts nothing.",
    )
    p.add_argument("--frames", type=positive_int, default=150, help="frames per measurement (after warm-up)")
    p.add_argument("--devices", nargs="+", default=None, help="devices to measure (default: cpu, and cuda if present)")
    p.add_argument("--model", choices=MODELS, default="recurrent")
    p.add_argument("--weights", help="recurrent model file (.safetensors)")
    p.add_argument("--detect-every", type=positive_int, nargs="+", default=[1, 3], help="detector intervals to measure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_bench(
        frames=args.frames, devices=args.devices, model=args.model, weights=args.weights, detect_every=args.detect_every
    )
    return 0
