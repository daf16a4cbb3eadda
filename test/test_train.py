"""Trainer and dataset builder: a tiny run lowers the loss and writes a loadable checkpoint;
the builder runs generated frames through the real streaming path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from fer_ros.engine.geometry import GEOMETRY_DIM
from fer_ros.io.media import media_dir
from fer_ros.learn import sequences as ds
from fer_ros.learn import train as tr
from fer_ros.model.classes import NUM_CLASSES
from fer_ros.model.expression import load_model


def _fake_crops(label, inten, det, seed):
    """(T, 64, 64) uint8 face crops of a fake sequence: noise plus a bright patch whose place is the
    class and whose contrast is the intensity; zeros where no face (as the builder stores them)."""
    rng = np.random.default_rng([seed, 7])
    T = len(label)
    crops = rng.integers(60, 120, (T, 64, 64)).astype(np.float32)
    for t in range(T):
        r, c = divmod(int(label[t]), 3)
        crops[t, 8 + 16 * r:20 + 16 * r, 8 + 16 * c:20 + 16 * c] += 130 * inten[t]
    crops[~det] = 0
    return np.clip(crops, 0, 255).astype(np.uint8)


def _fake_split(path, n, seed, person, crops=False, lengths=(30, 50)):
    """A split file in the dataset format whose features carry the labels (learnable).

    crops: also store face crops (model.finetune_cnn), and appearance = the stock CNN's encoding
    of them, as the builder does; without: a file as built before crops were stored."""
    rng = np.random.default_rng(seed)
    results = []
    encoder = None
    if crops:
        from fer_ros.engine.features import AppearanceEncoder
        encoder = AppearanceEncoder()
    for i in range(n):
        T = int(rng.integers(*lengths))
        cls = 1 + i % (NUM_CLASSES - 1)  # every expression class in every split
        on, off = 8, T - 8
        inten = np.zeros(T, np.float32)
        inten[on:off + 1] = np.sin(np.linspace(0.1, np.pi - 0.1, off - on + 1))
        label = np.where(inten > 0, cls, 0)
        phase = np.where(inten > 0, 1, 0)  # onset ... apex ... offset
        phase[inten > 0.9] = 2
        phase[(np.arange(T) > (on + off) // 2) & (inten > 0) & (inten <= 0.9)] = 3
        app = rng.normal(0, 0.1, (T, 135)).astype(np.float32)  # uninformative; geometry carries the class
        geo = rng.normal(0, 0.1, (T, GEOMETRY_DIM)).astype(np.float32)
        geo[:, cls] += 3 * inten
        det = np.ones(T, bool)
        det[0] = False  # one undetected frame: masked
        app[0] = geo[0] = 0
        extra = {}
        if crops:
            extra["crops"] = _fake_crops(label, inten, det, seed * 1000 + i)
            app = np.zeros_like(app)
            app[det] = encoder(extra["crops"][det]).numpy()
        results.append(dict(**extra, appearance=app, geometry=geo, detected=det, label=label.astype(np.int64),
                            intensity=inten, phase=phase.astype(np.int64),
                            intervals=[[on, on + 5, on + 6, off, cls, 1.0, 0.0]], rest_label=0,
                            identity=person, person=person, t_synth=0.0, t_features=0.0))
    ds._save(path, results, {"persons": [person], "frames": sum(len(r["label"]) for r in results),
                             "detected_frames": 0, "wall_s": 0.0})


@pytest.fixture
def tiny_config(tmp_path):
    data_dir = tmp_path / "data"
    _fake_split(data_dir / "tiny_train.npz", 6, 0, "a")
    _fake_split(data_dir / "tiny_heldout.npz", 6, 1, "b")
    cfg = {
        "data": {"dir": str(data_dir), "name": "tiny", "build_if_missing": False},
        "model": {"hidden": 24, "stream_dim": 16},
        "train": {"epochs": 2, "batch_size": 1, "lr": 0.02, "p_crop": 0.5, "p_resample": 0.5,
                  "crop_min": 12, "device": "cpu"},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_tiny_training_lowers_loss_and_writes_loadable_checkpoint(tiny_config, tmp_path):
    out = tmp_path / "out"
    path = tr.train(tiny_config, out)
    assert path == out / tr.CHECKPOINT and path.is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    first = metrics["initial_val"]["loss"]
    last = metrics["history"][-1]["val"]["loss"]
    assert last < first, (first, last)
    assert len(metrics["history"]) == 2
    model = load_model(path)
    assert model.cfg.residual_cnn_logits and model.cfg.geometry_dim == GEOMETRY_DIM
    assert model.metadata["heldout_persons"] == ["b"] and "val" in model.metadata
    # streaming use: one step on one face
    out1, _ = model.step(torch.zeros(1, 135), torch.zeros(1, GEOMETRY_DIM))
    assert out1["logits"].shape == (1, NUM_CLASSES)


def test_same_person_in_both_splits_is_refused(tmp_path):
    data_dir = tmp_path / "data"
    _fake_split(data_dir / "tiny_train.npz", 2, 0, "a")
    _fake_split(data_dir / "tiny_heldout.npz", 2, 1, "a")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"dir": str(data_dir), "name": "tiny", "build_if_missing": False},
                                    "train": {"epochs": 1}}))
    with pytest.raises(RuntimeError, match="share people"):
        tr.train(path, tmp_path / "out")


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train: {epochz: 3}\n")
    with pytest.raises(ValueError, match="train.epochz"):
        tr.load_config(path)


def test_default_config_loads():
    cfg = tr.load_config(Path(__file__).resolve().parents[1] / "config" / "train_default.yaml")
    assert cfg["model"]["residual_cnn_logits"] is True
    assert cfg["model"]["finetune_cnn"] is False and cfg["train"]["cnn_lr_scale"] == 0.1
    assert set(cfg["train"]["loss_weights"]) == {"dense_ce", "intensity", "activity", "phase"}


def test_partial_accuracy_uses_onset_plus_fraction():
    seq = ds.SequenceData(np.zeros((20, 135)), np.zeros((20, GEOMETRY_DIM)), np.zeros(20, int),
                          np.zeros(20, np.float32), np.zeros(20, int), np.ones(20, bool), 0,
                          np.array([[4, 8, 9, 12, 3, 1.0, 0.0]]), "x", "x")
    pred = np.zeros(20, int)
    pred[6] = 3   # onset + 0.25 * 8
    pred[12] = 3  # offset
    f = tr.recognition_figures([seq], [pred])
    assert f["acc@25"] == 1.0 and f["acc@50"] == 0.0 and f["acc@100"] == 1.0


@pytest.mark.skipif(not (media_dir() / "single_face.mp4").exists(), reason="sample media missing")
def test_dataset_build_runs_the_streaming_path(tmp_path):
    cfg = ds.DatasetConfig(out_dir=str(tmp_path), name="t", train_sequences=2, heldout_sequences=1,
                           workers=1, synth={"min_len": 16, "max_len": 16})
    paths = ds.build(cfg)
    seqs, info = ds.load(paths["train"])
    assert len(seqs) == 2 and all(len(s) == 16 for s in seqs)
    s = seqs[0]
    assert s.appearance.shape == (16, 135) and s.geometry.shape == (16, GEOMETRY_DIM)
    assert s.detected.mean() > 0.8  # the animated face is found on (almost) every frame
    assert np.all(s.appearance[~s.detected] == 0)
    # the crops the CNN saw are stored (model.finetune_cnn): the appearance is their encoding
    from fer_ros.engine.features import AppearanceEncoder
    assert s.crops.shape == (16, 64, 64) and s.crops.dtype == np.uint8 and not s.crops[~s.detected].any()
    np.testing.assert_allclose(AppearanceEncoder()(s.crops[s.detected]).numpy(), s.appearance[s.detected],
                               atol=1e-4, rtol=1e-4)
    assert not set(info["persons"]) & set(ds.load(paths["heldout"])[1]["persons"])
    # resized rebuild reuses the finished shards; a shard from before crops were kept is recomputed
    shards = sorted(Path(info["shards"]).glob("train_*.npz"))
    with np.load(shards[0]) as z:
        old = {k: z[k] for k in z.files if k != "crops"}
    np.savez_compressed(shards[0], **old)
    cfg2 = ds.DatasetConfig(out_dir=str(tmp_path), name="t", train_sequences=1, heldout_sequences=1,
                            workers=1, synth={"min_len": 16, "max_len": 16})
    again, _ = ds.load(ds.build(cfg2, splits=("train",))["train"])
    assert np.array_equal(again[0].appearance, s.appearance)
    assert np.array_equal(again[0].crops, s.crops)


# ----------------------------------------------------------------------------- residual head

def test_residual_head_starts_as_the_framewise_cnn():
    from fer_ros.model.expression import ExpressionModel, ModelConfig

    model = ExpressionModel(ModelConfig(geometry_dim=GEOMETRY_DIM, residual_cnn_logits=True)).eval()
    app = torch.randn(3, 135)
    out, _ = model.step(app, torch.randn(3, GEOMETRY_DIM))
    assert torch.allclose(out["logits"], app[:, -NUM_CLASSES:], atol=1e-6)
    seq = model(torch.randn(2, 5, 135), torch.randn(2, 5, GEOMETRY_DIM))
    assert seq["logits"].shape == (2, 5, NUM_CLASSES)


def test_configs_saved_without_the_flag_load_without_the_residual():
    from fer_ros.model.expression import ModelConfig

    assert ModelConfig.from_dict({"geometry_dim": 8}).residual_cnn_logits is False


def test_soft_rest_targets_follow_the_cnn_on_still_frames():
    T = 6
    app = np.zeros((T, 135), np.float32)
    app[:, -NUM_CLASSES + 4] = 5.0  # the CNN says happy on every frame
    inten = np.array([0, 0, 0.5, 1.0, 0.5, 0], np.float32)
    seq = ds.SequenceData(app, np.zeros((T, GEOMETRY_DIM)), np.where(inten > 0, 6, 0), inten,
                          np.zeros(T, int), np.ones(T, bool), 4, np.zeros((0, 7)), "x", "x")
    rest = tr.rest_distribution(seq)
    assert rest.shape == (T, NUM_CLASSES) and np.allclose(rest.sum(1), 1)
    assert (rest.argmax(1) == 4).all()


# ----------------------------------------------------------------------------- resume, DDP

def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny_config, tmp_path, monkeypatch):
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(epochs=3, progress=False)
    tiny_config.write_text(yaml.safe_dump(cfg))
    straight = tmp_path / "straight"
    tr.train(tiny_config, straight)

    class Interrupted(Exception):
        pass

    evaluate, calls = tr.evaluate, []

    def dies_in_epoch_3(*args, **kwargs):  # calls: before training, epochs 1, 2, 3
        calls.append(1)
        if len(calls) == 4:
            raise Interrupted
        return evaluate(*args, **kwargs)

    resumed = tmp_path / "resumed"
    monkeypatch.setattr(tr, "evaluate", dies_in_epoch_3)
    with pytest.raises(Interrupted):
        tr.train(tiny_config, resumed)
    assert load_model(resumed / tr.LAST).metadata["epoch"] == 2
    monkeypatch.setattr(tr, "evaluate", evaluate)
    tr.train(tiny_config, resumed, resume=True)

    for name in (tr.LAST, tr.CHECKPOINT):
        a, b = _weights(straight / name), _weights(resumed / name)
        assert a.keys() == b.keys()
        for k in a:
            assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), (name, k)
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (straight, resumed))
    assert [r["train_loss"] for r in m1["history"]] == pytest.approx([r["train_loss"] for r in m2["history"]])
    assert len(m2["history"]) == 3 and load_model(resumed / tr.LAST).metadata["epoch"] == 3


def test_resume_refuses_another_config(tiny_config, tmp_path):
    tr.train(tiny_config, tmp_path / "out", progress=False)
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"]["lr"] = 0.01
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="another config"):
        tr.train(other, tmp_path / "out", resume=True)


def test_torchrun_two_cpu_processes_write_a_loadable_checkpoint(tiny_config, tmp_path):
    pytest.importorskip("torch.distributed.run", reason="torchrun (torch.distributed.run) not importable")
    import subprocess
    import sys

    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available")
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["train"].update(threads=1, progress=False)
    tiny_config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "ddp"
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "fer_ros.cli", "train", str(tiny_config), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    model = load_model(out / tr.CHECKPOINT)
    assert model.metadata["epoch"] in (1, 2)
    assert load_model(out / tr.LAST).metadata["epoch"] == 2
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 2


# ----------------------------------------------------------------------------- appearance CNN fine-tuning

def _config_with(path, out, **sections):
    """A copy of the config at `path` with section keys updated, written to `out`."""
    cfg = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        cfg.setdefault(section, {}).update(values)
    out.write_text(yaml.safe_dump(cfg))
    return out


@pytest.fixture(scope="module")
def crops_data(tmp_path_factory):
    """Tiny datasets that carry face crops (appearance = the stock CNN's), built once: the CNN
    runs on every frame of a fine-tuning run, so these are fewer and shorter sequences."""
    data_dir = tmp_path_factory.mktemp("crops_data")
    _fake_split(data_dir / "tiny_train.npz", 4, 0, "a", crops=True, lengths=(24, 32))
    _fake_split(data_dir / "tiny_heldout.npz", 4, 1, "b", crops=True, lengths=(24, 32))
    return data_dir


@pytest.fixture
def crops_config(crops_data, tmp_path):
    """The tiny config over the datasets with crops."""
    data_dir = crops_data
    cfg = {
        "data": {"dir": str(data_dir), "name": "tiny", "build_if_missing": False},
        "model": {"hidden": 24, "stream_dim": 16},
        # cnn_lr_scale 0.01: the CNN at lr 2e-4 as in the default config (2e-3 * 0.1); at this
        # tiny run's lr 0.02 the default scale would let a few steps wreck the pretrained CNN.
        "train": {"epochs": 2, "batch_size": 1, "lr": 0.02, "p_crop": 0.5, "p_resample": 0.5,
                  "crop_min": 12, "device": "cpu", "progress": False, "p_logit_shift": 0.5,
                  "cnn_lr_scale": 0.01},
    }
    path = tmp_path / "crops.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _stock_cnn() -> dict:
    from fer_ros.model.mini_xception import DEFAULT_WEIGHTS

    return {f"cnn.{k}": v for k, v in _weights(DEFAULT_WEIGHTS).items()}


def test_dataset_crops_round_trip(crops_config):
    seqs, _ = ds.load(Path(yaml.safe_load(crops_config.read_text())["data"]["dir"]) / "tiny_train.npz")
    s = seqs[0]
    assert s.crops is not None and s.crops.dtype == np.uint8 and s.crops.shape == (len(s), 64, 64)
    assert not s.crops[~s.detected].any() and s.crops[s.detected].any()


def test_finetune_run_lowers_the_loss_and_trains_the_cnn_a_frozen_run_does_not(crops_config, tmp_path):
    stock = _stock_cnn()
    ft_out, frozen_out = tmp_path / "ft", tmp_path / "frozen"
    tr.train(_config_with(crops_config, tmp_path / "ft.yaml", model={"finetune_cnn": True}), ft_out)
    tr.train(crops_config, frozen_out)
    ft, frozen = (json.loads((d / "metrics.json").read_text()) for d in (ft_out, frozen_out))
    # Same features at the start: the model's CNN encodes the crops as the stock CNN did for the dataset.
    assert ft["initial_val"]["loss"] == pytest.approx(frozen["initial_val"]["loss"], rel=1e-4)
    assert ft["history"][-1]["val"]["loss"] < ft["initial_val"]["loss"]

    w = _weights(ft_out / tr.CHECKPOINT)
    assert set(stock) <= set(w)
    convs = [k for k in stock if k.endswith(".weight") and w[k].dim() == 4]
    assert convs and all(not torch.equal(w[k], stock[k]) for k in convs), "every conv was fine-tuned"
    # BatchNorm kept eval mode: its FER2013 running statistics are untouched, its affine part learned.
    stats = [k for k in stock if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert stats and all(torch.equal(w[k], stock[k]) for k in stats)
    assert not torch.equal(w["cnn.bn1.weight"], stock["cnn.bn1.weight"])
    model = load_model(ft_out / tr.CHECKPOINT)
    assert model.cfg.finetune_cnn and model.cnn is not None

    # The frozen run has no CNN of its own: the stock one (its stored features) stays as it is.
    assert not any(k.startswith("cnn.") for k in _weights(frozen_out / tr.CHECKPOINT))
    assert load_model(frozen_out / tr.CHECKPOINT).cnn is None


def test_finetune_cnn_lr_scale_zero_keeps_the_cnn(crops_config, tmp_path):
    """The CNN is its own AdamW group at lr * cnn_lr_scale: scale 0 leaves it exactly as loaded."""
    cfg = _config_with(crops_config, tmp_path / "c.yaml", model={"finetune_cnn": True},
                       train={"epochs": 1, "cnn_lr_scale": 0.0, "max_sequences": 2})
    out = tmp_path / "out"
    w = _weights(tr.train(cfg, out))
    assert all(torch.equal(w[k], v) for k, v in _stock_cnn().items())
    m = json.loads((out / "metrics.json").read_text())
    assert m["history"][-1]["val"]["loss"] != m["initial_val"]["loss"]  # the rest did train


def test_old_dataset_without_crops_loads_and_finetune_refuses_it(tiny_config, tmp_path):
    data_dir = Path(yaml.safe_load(tiny_config.read_text())["data"]["dir"])
    seqs, _ = ds.load(data_dir / "tiny_train.npz")  # written without crops, as files built before them
    assert len(seqs) == 6 and all(s.crops is None for s in seqs)
    cfg = _config_with(tiny_config, tmp_path / "ft.yaml", model={"finetune_cnn": True})
    with pytest.raises(ValueError, match="rebuild the dataset"):
        tr.train(cfg, tmp_path / "out")
