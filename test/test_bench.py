"""`fer-ros bench` runs and writes its figures (values are never asserted: speed is not a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

FER_ROS = Path(sys.executable).parent / "fer-ros"


def _bench(tmp_path, *args):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [str(FER_ROS), "bench", *args, "--json", str(out)], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads(out.read_text())


def test_bench_reports_scenes_and_the_floor_of_the_parts(tmp_path):
    stdout, report = _bench(tmp_path, "--frames", "5", "--faces", "1", "2", "--device", "cpu")
    assert "floor" in stdout and "ratio" in stdout
    assert [s["faces"] for s in report["scenes"]] == [1, 2]
    for s in report["scenes"]:
        assert s["fps"] > 0 and s["floor_fps"] > 0 and s["ratio"] > 0
        assert set(s["stages_ms"]) == {"decode", "detect", "align", "cnn", "recurrent", "spotter"}
        assert set(s["bare_ms"]) == {"detect", "mesh", "cnn"}
        assert 0.5 <= s["faces"] <= 2.5  # faces found per frame


def test_bench_streams_on_cpu(tmp_path):
    stdout, report = _bench(tmp_path, "--streams", "2", "--frames", "5", "--device", "cpu")
    assert "largest number of streams that keeps up" in stdout
    assert report["streams"][0]["streams"] == 1 and report["streams"][0]["p95_ms"] > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU streams bench needs one")
def test_bench_streams_on_the_gpu(tmp_path):
    _, report = _bench(tmp_path, "--streams", "4", "--frames", "10", "--device", "cuda")
    assert report["streams"] and all(r["p50_ms"] > 0 for r in report["streams"])
