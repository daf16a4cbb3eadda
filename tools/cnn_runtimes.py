"""How fast each runtime runs the appearance network (the CNN batch) on this machine.

Prints the median milliseconds of a batch of 1, 4 and 8 crops for eager PyTorch (the
reference), PyTorch channels_last, torch.compile and ONNX Runtime, one thread each (the
engine's default: the other core is MediaPipe's). The engine's ``runtime: auto`` follows
what this measured (engine/runtime.py).

    python tools/cnn_runtimes.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from fer_ros.engine.features import AppearanceEncoder
from fer_ros.engine.runtime import onnxruntime_available
from fer_ros.model.backbone import load_backbone, scale

BATCHES = (1, 4, 8)


def median_ms(fn, repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    reference = load_backbone(device="cpu").eval()
    last = load_backbone(device="cpu").eval().to(memory_format=torch.channels_last)
    compiled = torch.compile(load_backbone(device="cpu").eval().appearance)
    ort = (
        AppearanceEncoder("cpu", load_backbone(device="cpu"), runtime="onnxruntime")
        if onnxruntime_available()
        else None
    )
    rows = []
    for n in BATCHES:
        crops = np.random.default_rng(n).integers(0, 256, (n, 1, reference.crop_size, reference.crop_size), np.uint8)
        x = scale(torch.from_numpy(crops))
        xl = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            row = {
                "torch": median_ms(lambda x=x: reference.appearance(x), args.repeats),
                "channels_last": median_ms(lambda xl=xl: last.appearance(xl), args.repeats),
                "torch.compile": median_ms(lambda x=x: compiled(x), args.repeats),
            }
        if ort is not None:
            row["onnxruntime"] = median_ms(lambda c=crops[:, 0]: ort(c), args.repeats)
        rows.append((n, row))
    names = list(rows[0][1])
    print(f"{'batch':>5} " + " ".join(f"{name:>14}" for name in names) + "   (ms, median)")
    for n, row in rows:
        print(f"{n:>5} " + " ".join(f"{row[name]:>14.2f}" for name in names))


if __name__ == "__main__":
    main()
