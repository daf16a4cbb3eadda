"""Train the recurrent expression model on feature datasets (fer_ros.learn.sequences).

    fer-ros train config/train_default.yaml --out out/train

reads the YAML config, builds the datasets when they are missing (data.build_if_missing),
trains with ``losses.total_loss`` (dense prefix-scored CE with intensity-derived labels,
class-balanced weights, intensity loss, spotting = activity + phase), validates on the
held-out split after every epoch and writes the best checkpoint as
``<out>/fer_mvlstm.safetensors`` (model.save_model: config JSON + training metadata) and
``<out>/metrics.json``. ``train(config_path, out_dir) -> path`` is the same as a function.

After every epoch the run state goes to ``<out>/last.safetensors`` (the model, as
save_model) and ``<out>/last_optim.safetensors`` (optimizer, LR schedule, RNG states,
history; tensors as safetensors, their structure as JSON metadata: no pickle);
``--resume`` / ``train(..., resume=True)`` continues from there and ends with the same
weights as an uninterrupted run. A progress bar over epochs shows on a terminal
(``--quiet`` or ``train.progress: false`` turn it off).

Multi-process (DDP): ``torchrun --nproc_per_node N -m fer_ros.learn.train CONFIG --out DIR``
(nccl on CUDA, one GPU per process; gloo on CPU). Each epoch the sequences are shuffled
by (seed, epoch) and sharded by rank (padded to equal shards, as DistributedSampler);
augmentation and dropout draw from (seed, epoch, rank) streams, so resuming is exact
there too. Only rank 0 validates, logs and writes files; batch_size is per process.

Augmentation: ``training_item`` applies every augmentation of fer_ros.learn.augment (its module
docstring lists them), each switched by its probability in the config. Frames without a
detected face are masked out of every loss term.

Appearance CNN frozen or fine-tuned (``model.finetune_cnn``, default false): frozen, the
model reads the appearance vectors stored in the datasets (the stock FER2013 mini-Xception's
features ++ logits). Fine-tuned, the model owns a mini-Xception initialised from those
weights (model.ExpressionModel.cnn) and every step recomputes the appearance from the
datasets' face crops through it, with gradients (``forward(..., crops=, face=)``), in
training and validation; the CNN learns at ``train.lr * train.cnn_lr_scale`` (AdamW param
groups, default scale 0.1, so the pretrained CNN is refined, not wrecked), its BatchNorm
keeps its FER2013 statistics (eval mode), and the logit-shift augmentation is added to the
logits the CNN computes. The checkpoint then carries the CNN, which the streaming engine
uses to encode faces. It needs datasets built with crops (files from before lack them:
rebuild). The rest targets and the ``baseline_*`` figures stay those of the stock CNN
(the stored appearance).

Validation figures (held-out split, full sequences, no augmentation):
- frame_acc: per-frame accuracy against the intensity-derived truth (the animated class
  where the expression is in its upper half, intensity >= 0.5 of its own peak, else the
  base's rest label; frames with unknown truth skipped), also split into frame_acc_expr
  and frame_acc_rest;
- acc@25/50/100: for each expression interval, the class predicted at frame
  onset + p * (offset - onset), p = 0.25, 0.5, 1.0 (how early the model knows; at p = 1
  the expression has faded to ~0 and the dense labels teach the rest class there);
- interval_acc: the class of each whole expression (mean probabilities over its upper half);
- spot_f1: intervals from the product's online Spotter on the activity/intensity outputs,
  matched to true intervals at frame IoU >= 0.5 (MEGC rule, pooled over sequences);
- the same recognition figures for the frame-wise baseline (softmax of the CNN logits
  in the same features), as ``baseline_*``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from fer_ros.engine.geometry import GEOMETRY_DIM
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES
from fer_ros.model.expression import (
    ExpressionModel,
    ModelConfig,
    load_model,
    save_model,
)

from . import augment
from . import sequences as ds
from .losses import DEFAULT_WEIGHTS, class_balanced_weights, total_loss
from .run_state import (
    load_state,
    replace_atomically,
    rng_state,
    save_state,
    set_rng_state,
)

log = logging.getLogger("fer_ros.learn.train")

CHECKPOINT = "fer_mvlstm.safetensors"
LAST, LAST_STATE = "last.safetensors", "last_optim.safetensors"  # resumable run state
STATE_FORMAT = "fer_ros.TrainState/1"
PARTIAL = (0.25, 0.5, 1.0)

DEFAULTS = {
    "data": {
        "dir": ".cache/datasets", "name": "synth", "build_if_missing": True, "media_dir": "",
        "train_sequences": 200, "heldout_sequences": 48, "seed": 0, "workers": 2, "detect_every": 1,
        "min_len": 40, "max_len": 120,
    },
    "model": {"hidden": 96, "stream_dim": 48, "num_layers": 1, "mode_size": None, "mode_readout": False,
              "dropout": 0.1, "stream_dropout": 0.15, "residual_cnn_logits": True,
              "appearance_features": True, "geometry_shape": True, "head_logit_bound": 0.0, "expressive_rest_bound": 0.0,
              "finetune_cnn": False, "class_from": "both"},
    "train": {
        "epochs": 30, "batch_size": 16, "lr": 2e-3, "weight_decay": 1e-2, "grad_clip": 1.0,
        "seed": 0, "device": "auto", "threads": 0,
        "crop_min": 24, "p_crop": 0.8, "p_resample": 0.5, "stride_min": 0.7, "stride_max": 1.5,
        "feature_noise": 0.0, "class_balance_beta": 0.999, "ce_floor": 0.2,
        "rest_target": "cnn", "ce_relative_intensity": True,
        "p_logit_shift": 0.0, "logit_shift_max": 6.0, "p_reverse_offset": 0.0,
        "p_distractor": 0.0, "p_amplify": 0.0, "amplify_max": 3.0, "p_cnn_response": 0.0, "p_cnn_conflict": 0.0, "cnn_response_min": 1.0, "cnn_response_max": 5.0,
        "loss_weights": dict(DEFAULT_WEIGHTS), "max_sequences": 0, "progress": True,
        "cnn_lr_scale": 0.1,  # model.finetune_cnn: the CNN's learning rate is lr * cnn_lr_scale
    },
}


def load_config(path) -> dict:
    """YAML config merged over DEFAULTS; unknown keys are an error (typos are not ignored)."""
    with open(path) as f:
        user = yaml.safe_load(f) or {}
    cfg = json.loads(json.dumps(DEFAULTS))
    for section, values in user.items():
        if section not in cfg:
            raise ValueError(f"{path}: unknown section {section!r} (known: {sorted(cfg)})")
        for k, v in (values or {}).items():
            if k not in cfg[section]:
                raise ValueError(f"{path}: unknown key {section}.{k}")
            cfg[section][k] = v
    return cfg


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- data

def dataset_paths(data: dict) -> dict:
    dcfg = ds.DatasetConfig(
        media_dir=data["media_dir"], out_dir=data["dir"], name=data["name"],
        train_sequences=data["train_sequences"], heldout_sequences=data["heldout_sequences"],
        seed=data["seed"], workers=data["workers"], detect_every=data["detect_every"],
        synth={"min_len": data["min_len"], "max_len": data["max_len"]})
    paths = {s: dcfg.path(s) for s in ds.SPLITS}
    missing = [s for s, p in paths.items() if not p.is_file()]
    if missing:
        if not data["build_if_missing"]:
            raise FileNotFoundError(f"dataset files missing: {[str(paths[s]) for s in missing]}")
        log.info("building datasets %s", missing)
        ds.build(dcfg, splits=tuple(missing))
    return paths


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rest_distribution(seq: ds.SequenceData, shift: np.ndarray | None = None) -> np.ndarray:
    """(T, C) what the face shows when not animated, as the frame-wise CNN sees it.

    Frames at intensity 0: that frame's own CNN softmax (so an unchanged face is taught
    the CNN's answer, whoever the person is). Animated frames: the mean CNN softmax over
    the sequence's unanimated frames (the base's look under the same modes).
    """
    logits = seq.appearance[:, -NUM_CLASSES:].astype(np.float64)
    probs = _softmax(logits if shift is None else logits + shift)
    still = seq.detected & (seq.intensity == 0)
    if still.any():
        mean = probs[still].mean(0)
    else:
        mean = np.eye(NUM_CLASSES)[seq.rest_label if seq.rest_label >= 0 else NEUTRAL]
    out = np.where(still[:, None], probs, mean[None])
    return out.astype(np.float32)


def relative_intensity(seq: ds.SequenceData) -> np.ndarray:
    """Intensity divided by the peak of its own expression (1 at every apex, micro or not)."""
    rel = seq.intensity.astype(np.float32).copy()
    for onset, _a, _ae, offset, _l, peak, _m in seq.intervals:
        sl = slice(int(onset), int(offset) + 1)
        rel[sl] = np.clip(rel[sl] / max(float(peak), 1e-6), 0, 1)
    return rel


def _targets(seq: ds.SequenceData, idx: np.ndarray, rest_target: str = "cnn",
             shift: np.ndarray | None = None, relative: bool = False) -> dict:
    """Per-frame training targets of the frames idx of one sequence.

    rest_target "cnn": the class mix at intensity 0 is the frame-wise CNN's softmax
    (rest_distribution); "label": the base's rest label, frames of bases with an unknown
    rest label scored only where the animation dominates (intensity >= 0.5).
    """
    inten = seq.intensity[idx]
    label = seq.label[idx]
    ce_weight = np.ones(len(idx), np.float32)
    common = dict(label=label, intensity=inten, phase=seq.phase[idx],
                  active=(seq.phase[idx] > 0).astype(np.float32), mask=seq.detected[idx],
                  ce_intensity=relative_intensity(seq)[idx] if relative else inten)
    if rest_target == "cnn":
        return dict(common, rest=rest_distribution(seq, shift)[idx], ce_weight=ce_weight)
    if rest_target != "label":
        raise ValueError(f"train.rest_target must be 'cnn' or 'label', got {rest_target!r}")
    rest = np.full(len(idx), seq.rest_label, np.int64)
    if seq.rest_label < 0:
        # What the unanimated face shows is unknown: score only frames the animation dominates.
        ce_weight = (common["ce_intensity"] >= 0.5).astype(np.float32)
        rest = label.copy()
    return dict(common, rest=rest, ce_weight=ce_weight)


def training_item(seq: ds.SequenceData, rng: np.random.Generator, tcfg: dict,
                  au: augment.AuFields | None = None) -> tuple:
    """One augmented training view of a sequence -> (sequence, frame indices, per-sequence CNN
    logit shift or None, per-frame CNN logit offsets or None), as ``collate`` takes it.
    The order of the draws is fixed (resumed runs replay them exactly)."""
    seq = augment.reverse_offsets(seq, rng, tcfg["p_reverse_offset"])
    seq = augment.distractor_motion(seq, rng, tcfg, au)
    seq = augment.amplify_motion(seq, rng, tcfg)
    add, label = augment.cnn_response(seq, rng, tcfg)
    if label is not None:
        seq = dataclasses.replace(seq, label=label)
    return seq, augment.crop_and_resample(len(seq), rng, tcfg), augment.resting_look(rng, tcfg), add


def collate(items: list[tuple], device, noise: float = 0.0,
            rng: np.random.Generator | None = None, rest_target: str = "cnn", relative: bool = False,
            crops: bool = False) -> tuple:
    """items: (sequence, frame indices[, per-sequence CNN logit shift (C,)[, per-frame CNN
    logit offsets (T, C)]]) -> padded batch (appearance, geometry, lengths, targets);
    training_item makes the items.

    crops (model.finetune_cnn): the batch gets a fifth element, the face crops (N, T, 64, 64)
    uint8, and the appearance holds only the additive augmentation (logit shift and offsets,
    noise) that the model adds to its encoding of the crops (ExpressionModel.forward).
    """
    lengths = [len(it[1]) for it in items]
    N, T = len(items), max(lengths)
    app = np.zeros((N, T, ds.APPEARANCE_DIM), np.float32)
    crop = np.zeros((N, T, 64, 64), np.uint8) if crops else None
    geo = np.zeros((N, T, GEOMETRY_DIM), np.float32)
    tg = {k: np.zeros((N, T), dt) for k, dt in (("label", np.int64), ("intensity", np.float32),
                                                ("ce_intensity", np.float32),
                                                ("phase", np.int64), ("active", np.float32),
                                                ("ce_weight", np.float32), ("mask", bool))}
    tg["rest"] = (np.zeros((N, T, NUM_CLASSES), np.float32) if rest_target == "cnn"
                  else np.zeros((N, T), np.int64))
    for n, item in enumerate(items):
        seq, idx = item[:2]
        shift = item[2] if len(item) > 2 else None
        add = item[3] if len(item) > 3 else None
        L = len(idx)
        if crops:
            crop[n, :L] = seq.crops[idx]
        else:
            app[n, :L] = seq.appearance[idx]
        if add is not None:
            app[n, :L, -NUM_CLASSES:] += add[idx]
        if shift is not None:
            app[n, :L, -NUM_CLASSES:] += (shift[None] * seq.detected[idx, None]).astype(np.float32)
        geo[n, :L] = seq.geometry[idx]
        for k, v in _targets(seq, idx, rest_target, shift, relative).items():
            tg[k][n, :L] = v
    if noise > 0 and rng is not None:
        m = tg["mask"][..., None]
        app[..., :-NUM_CLASSES] += m * rng.normal(0, noise, app[..., :-NUM_CLASSES].shape).astype(np.float32)
        geo += m * rng.normal(0, noise, geo.shape).astype(np.float32)
    targets = {k: torch.from_numpy(v).to(device) for k, v in tg.items()}
    batch = (torch.from_numpy(app).to(device), torch.from_numpy(geo).to(device),
             torch.tensor(lengths, device=device), targets)
    return (*batch, torch.from_numpy(crop).to(device)) if crops else batch


def cnn_inputs(crops: list, targets: dict) -> dict:
    """Forward kwargs of a batch collated with crops (its fifth element, in a list; [] for none):
    the crops and the frames with a face, which the model encodes with its own CNN."""
    return {"crops": crops[0], "face": targets["mask"]} if crops else {}


def check_crops(seqs: list[ds.SequenceData], paths) -> None:
    """model.finetune_cnn trains the CNN from the stored face crops: refuse datasets without them."""
    if any(s.crops is None for s in seqs):
        files = " ".join(str(p) for p in paths)
        raise ValueError(
            "model.finetune_cnn needs the face crops in the datasets, and these files were built before "
            f"crops were stored: rebuild the dataset: delete {files} and run again (data.build_if_missing: "
            "true), or rebuild with python -m fer_ros.learn.sequences")


def class_counts(seqs: list[ds.SequenceData], rest_target: str = "cnn") -> np.ndarray:
    """Frames per dominant class (animated class at intensity >= 0.5, else the rest target's)."""
    counts = np.zeros(NUM_CLASSES)
    for s in seqs:
        rest = rest_distribution(s).argmax(-1) if rest_target == "cnn" else s.rest_label
        dom = np.where(s.intensity >= 0.5, s.label, rest)[s.detected]
        dom = dom[dom >= 0]
        counts += np.bincount(dom, minlength=NUM_CLASSES)
    return counts


# ----------------------------------------------------------------------------- evaluation

def frame_truth(seq: ds.SequenceData) -> np.ndarray:
    """Per-frame evaluation truth: the animated class where the expression is in its upper
    half (intensity >= 0.5 of its own peak, so micro expressions count too), else the
    base's rest label (-1 unknown: not scored)."""
    return np.where(relative_intensity(seq) >= 0.5, seq.label, seq.rest_label)


def _iou(a, b) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def spot(activity: np.ndarray, intensity: np.ndarray, probs: np.ndarray) -> list[tuple[int, int, int]]:
    """Intervals (onset, offset, class) from the product's online spotter."""
    from fer_ros.engine.spotter import Spotter

    sp = Spotter(face_id=0)
    out = []
    for t in range(len(activity)):
        for ev in sp.update(t, t / 30.0, float(activity[t]), float(intensity[t]), probs[t]):
            if ev.status == "ended":
                out.append((ev.onset, ev.offset, CLASS_NAMES.index(ev.label)))
    for ev in sp.close():
        if ev.status == "ended":
            out.append((ev.onset, ev.offset, CLASS_NAMES.index(ev.label)))
    return out


def interval_accuracy(seqs, probs: list[np.ndarray]) -> float:
    """Whole-expression accuracy: argmax of the mean class probabilities over the frames of
    each true interval in its upper half (relative intensity >= 0.5)."""
    hit = n = 0
    for seq, p in zip(seqs, probs):
        rel = relative_intensity(seq)
        for onset, _a, _ae, offset, label, _peak, _micro in seq.intervals:
            t = np.arange(int(onset), int(offset) + 1)
            t = t[(rel[t] >= 0.5) & seq.detected[t]]
            if len(t):
                hit += int(p[t].mean(0).argmax() == int(label))
                n += 1
    return hit / n if n else float("nan")


def recognition_figures(seqs, preds: list[np.ndarray]) -> dict:
    """Per-frame and partial-expression accuracy of per-frame class predictions (T,) per sequence."""
    hit = {"all": [0, 0], "expr": [0, 0], "rest": [0, 0], **{f"p{p}": [0, 0] for p in PARTIAL},
           **{f"micro_p{p}": [0, 0] for p in PARTIAL}}
    for seq, pred in zip(seqs, preds):
        truth = frame_truth(seq)
        ok = seq.detected & (truth >= 0)
        expr = relative_intensity(seq) >= 0.5
        for key, m in (("all", ok), ("expr", ok & expr), ("rest", ok & ~expr)):
            hit[key][0] += int((pred[m] == truth[m]).sum())
            hit[key][1] += int(m.sum())
        for onset, _apex, _apex_end, offset, label, _peak, micro in seq.intervals:
            for p in PARTIAL:
                t = int(round(onset + p * (offset - onset)))
                if not seq.detected[t]:
                    continue
                keys = [f"p{p}"] + ([f"micro_p{p}"] if micro else [])
                for key in keys:
                    hit[key][0] += int(pred[t] == int(label))
                    hit[key][1] += 1
    names = {"all": "frame_acc", "expr": "frame_acc_expr", "rest": "frame_acc_rest",
             **{f"p{p}": f"acc@{int(p * 100)}" for p in PARTIAL},
             **{f"micro_p{p}": f"micro_acc@{int(p * 100)}" for p in PARTIAL}}
    out = {names[k]: (h[0] / h[1] if h[1] else float("nan")) for k, h in hit.items()}
    out["frames_scored"] = hit["all"][1]
    out["intervals_scored"] = hit["p0.5"][1]
    return out


@torch.no_grad()
def evaluate(model: ExpressionModel, seqs: list[ds.SequenceData], device, batch_size: int = 32,
             loss_kw: dict | None = None, rest_target: str = "cnn", relative: bool = False) -> dict:
    model.eval()
    preds, base_preds, losses, all_probs, base_probs = [], [], [], [], []
    spotted_tp = spotted_n = true_n = 0
    spotted_tp_cls = 0
    inten_err = []
    for b in range(0, len(seqs), batch_size):
        chunk = seqs[b:b + batch_size]
        items = [(s, np.arange(len(s))) for s in chunk]
        app, geo, lengths, tg, *crops = collate(items, device, rest_target=rest_target, relative=relative,
                                                crops=model.cfg.finetune_cnn)
        out = model(app, geo, lengths, **cnn_inputs(crops, tg))
        if loss_kw is not None:
            losses.append(float(total_loss(out, tg, **loss_kw)[0]) * len(chunk))
        logits = out["logits"].cpu().numpy()
        probs = torch.softmax(out["logits"], -1).cpu().numpy()
        act = out["activity"].cpu().numpy()
        inten = out["intensity"].cpu().numpy()
        for n, s in enumerate(chunk):
            L = len(s)
            preds.append(logits[n, :L].argmax(-1))
            base_preds.append(s.appearance[:, -NUM_CLASSES:].argmax(-1))
            all_probs.append(probs[n, :L])
            base_probs.append(_softmax(s.appearance[:, -NUM_CLASSES:].astype(np.float64)))
            d = s.detected
            inten_err.append(np.abs(inten[n, :L][d] - s.intensity[d]))
            found = spot(act[n, :L], inten[n, :L], probs[n, :L])
            truth = [(int(r[0]), int(r[3]), int(r[4])) for r in s.intervals]
            used = set()
            for f in found:
                best = max(range(len(truth)), key=lambda j: _iou(f, truth[j]), default=None)
                if best is not None and best not in used and _iou(f, truth[best]) >= 0.5:
                    used.add(best)
                    spotted_tp += 1
                    spotted_tp_cls += int(f[2] == truth[best][2])
            spotted_n += len(found)
            true_n += len(truth)
    res = recognition_figures(seqs, preds)
    base = recognition_figures(seqs, base_preds)
    res.update({f"baseline_{k}": v for k, v in base.items() if k not in ("frames_scored", "intervals_scored")})
    res["interval_acc"] = interval_accuracy(seqs, all_probs)
    res["baseline_interval_acc"] = interval_accuracy(seqs, base_probs)
    prec = spotted_tp / spotted_n if spotted_n else 0.0
    rec = spotted_tp / true_n if true_n else 0.0
    res.update({
        "spot_precision": prec, "spot_recall": rec,
        "spot_f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "spot_class_acc": spotted_tp_cls / spotted_tp if spotted_tp else float("nan"),
        "spotted": spotted_n, "true_intervals": true_n,
        "intensity_mae": float(np.concatenate(inten_err).mean()) if inten_err else float("nan"),
    })
    if losses:
        res["loss"] = sum(losses) / len(seqs)
    return res


def selection_score(m: dict) -> float:
    """What picks the best epoch: mean of frame accuracy, acc@25/50/100, the whole-interval
    accuracy and spotting F1."""
    keys = ("frame_acc", "acc@25", "acc@50", "acc@100", "interval_acc", "spot_f1")
    vals = [m[k] for k in keys if not math.isnan(m[k])]
    return float(np.mean(vals)) if vals else 0.0


# ----------------------------------------------------------------------------- training

def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ----------------------------------------------------------------------------- run state

def save_last(out_dir: Path, model, state: dict) -> None:
    """The resumable run state: state (epoch, optimizer, scheduler, RNGs, history...) -> LAST_STATE,
    then the model -> LAST (save_model, so it loads as any checkpoint)."""
    save_state(out_dir / LAST_STATE, state, STATE_FORMAT)
    replace_atomically(lambda p: save_model(model, p, {"epoch": state["epoch"], "resumable": LAST_STATE}),
                       out_dir / LAST)


def load_last(out_dir: Path):
    """(model state_dict, run state) written by save_last, or None when there is none."""
    path, state_path = out_dir / LAST, out_dir / LAST_STATE
    if not (path.is_file() and state_path.is_file()):
        return None
    state = load_state(state_path, STATE_FORMAT)
    model = load_model(path)
    if model.metadata.get("epoch") != state["epoch"]:
        raise ValueError(f"{path} (epoch {model.metadata.get('epoch')}) and {state_path} "
                         f"(epoch {state['epoch']}) do not belong together")
    return model.state_dict(), state


def _distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); under torchrun (WORLD_SIZE > 1) joins the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = _device(device_name)
    if world <= 1:
        return 0, 1, device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _epoch_order(n: int, epoch: int, rng: np.random.Generator, seed: int, rank: int, world: int):
    """This process's sequence order for an epoch. One process: a permutation from the run's
    generator. DDP: a (seed, epoch) permutation padded to a multiple of world and sharded by
    rank (as DistributedSampler); augmentation and dropout get a (seed, epoch, rank) stream."""
    if world == 1:
        return rng.permutation(n), rng
    order = np.random.default_rng([seed, epoch]).permutation(n)
    order = np.resize(order, math.ceil(n / world) * world)[rank::world]
    rng = np.random.default_rng([seed, epoch, rank])
    torch.manual_seed(int(rng.integers(2 ** 62)))
    return order, rng


def train(config_path, out_dir, resume: bool = False, progress: bool | None = None) -> Path:
    """Train as the config says; returns the path of the best checkpoint.

    resume: continue from <out_dir>/last*.safetensors when present (the same config);
    progress: epoch progress bar on a terminal (None: the config's train.progress).
    """
    from tqdm import tqdm

    t_start = time.perf_counter()
    cfg = load_config(config_path)
    tcfg = cfg["train"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(tcfg["seed"])
    if tcfg["threads"]:
        torch.set_num_threads(int(tcfg["threads"]))
    rank, world, device = _distributed(tcfg["device"])
    try:
        return _train(cfg, out_dir, rank, world, device, resume,
                      tcfg["progress"] if progress is None else progress, t_start, tqdm)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _train(cfg, out_dir, rank, world, device, resume, progress, t_start, tqdm) -> Path:
    data, mcfg, tcfg = cfg["data"], cfg["model"], cfg["train"]
    main_process = rank == 0
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

    t0 = time.perf_counter()
    if not main_process:
        dist.barrier()  # rank 0 builds missing datasets first
    paths = dataset_paths(data)
    if main_process and world > 1:
        dist.barrier()
    t_data = time.perf_counter() - t0
    train_seqs, train_info = ds.load(paths["train"])
    val_seqs, val_info = ds.load(paths["heldout"])
    if tcfg["max_sequences"]:
        train_seqs = train_seqs[: tcfg["max_sequences"]]
        val_seqs = val_seqs[: tcfg["max_sequences"]]
    overlap = set(train_info["persons"]) & set(val_info["persons"])
    if overlap:
        raise RuntimeError(f"train and held-out share people: {sorted(overlap)}")
    finetune = bool(mcfg["finetune_cnn"])
    if finetune:
        check_crops(train_seqs + val_seqs, paths.values())

    model_cfg = ModelConfig(geometry_dim=GEOMETRY_DIM, **mcfg)
    model = ExpressionModel(model_cfg).to(device)
    net = model  # what trains: the model, or its DDP wrapper
    counts = class_counts(train_seqs, tcfg["rest_target"])
    cw = class_balanced_weights(counts, tcfg["class_balance_beta"]).to(device)
    loss_kw = dict(weights=tcfg["loss_weights"], class_weights=cw, ce_floor=tcfg["ce_floor"])
    params, max_lr = model.parameters(), tcfg["lr"]
    if finetune:  # the pretrained CNN learns slower: its own AdamW param group
        cnn_ids = {id(p) for p in model.cnn.parameters()}
        params = [{"params": [p for p in model.parameters() if id(p) not in cnn_ids]},
                  {"params": list(model.cnn.parameters()), "lr": tcfg["lr"] * tcfg["cnn_lr_scale"]}]
        max_lr = [tcfg["lr"], tcfg["lr"] * tcfg["cnn_lr_scale"]]
    opt = torch.optim.AdamW(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    steps_per_epoch = math.ceil(math.ceil(len(train_seqs) / world) / tcfg["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=tcfg["epochs"] * steps_per_epoch,
                                                pct_start=0.15)
    rng = np.random.default_rng(tcfg["seed"])
    au_fields = augment.AuFields() if tcfg["p_distractor"] else None
    log.info("train %d sequences (%d frames), held-out %d; class counts %s; weights %s; %d parameters",
             len(train_seqs), sum(map(len, train_seqs)), len(val_seqs), counts.astype(int).tolist(),
             np.round(cw.cpu().numpy(), 2).tolist(), sum(p.numel() for p in model.parameters()))

    history, best, best_path = [], -1.0, out_dir / CHECKPOINT
    rt, rel = tcfg["rest_target"], bool(tcfg["ce_relative_intensity"])
    last = load_last(out_dir) if resume else None
    if last is not None:
        weights, st = last
        if st["config"] != cfg:
            raise ValueError(f"{out_dir / LAST_STATE}: written with another config; resume needs the same one")
        model.load_state_dict(weights)
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        set_rng_state(rng, st["rng"])
        history, best, initial = st["history"], st["best"], st["initial"]
        if main_process:
            log.info("resuming after epoch %d of %d from %s", st["epoch"], tcfg["epochs"], out_dir / LAST)
    elif main_process:
        initial = evaluate(model, val_seqs, device, loss_kw=loss_kw, rest_target=rt, relative=rel)
        log.info("before training: val loss %.3f frame_acc %.3f (baseline %.3f)", initial["loss"],
                 initial["frame_acc"], initial["baseline_frame_acc"])
    if world > 1:
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    start = len(history) + 1
    bar = tqdm(range(start, tcfg["epochs"] + 1), total=tcfg["epochs"], initial=start - 1, unit="epoch",
               desc="train", dynamic_ncols=True, disable=None if progress and main_process else True)
    for epoch in bar:
        net.train()
        te = time.perf_counter()
        order, erng = _epoch_order(len(train_seqs), epoch, rng, tcfg["seed"], rank, world)
        tot, terms_sum, nb = 0.0, {}, 0
        for b in range(0, len(order), tcfg["batch_size"]):
            items = []
            for i in order[b:b + tcfg["batch_size"]]:
                items.append(training_item(train_seqs[i], erng, tcfg, au_fields))
            app, geo, lengths, tg, *crops = collate(items, device, tcfg["feature_noise"], erng, rt, rel, finetune)
            out = net(app, geo, lengths, **cnn_inputs(crops, tg))
            loss, terms = total_loss(out, tg, **loss_kw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tcfg["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(net.parameters(), tcfg["grad_clip"])
            opt.step()
            sched.step()
            tot += loss.item()
            for k, v in terms.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v
            nb += 1
        if not main_process:  # rank 0 validates and writes; the others wait for it
            dist.barrier()
            continue
        val = evaluate(model, val_seqs, device, loss_kw=loss_kw, rest_target=rt, relative=rel)
        score = selection_score(val)
        row = {"epoch": epoch, "train_loss": tot / nb, **{f"train_{k}": v / nb for k, v in terms_sum.items()},
               "val": val, "score": score, "seconds": time.perf_counter() - te}
        history.append(row)
        log.info("epoch %d: train loss %.3f | val loss %.3f frame_acc %.3f acc@25/50/100 %.3f/%.3f/%.3f "
                 "spot_f1 %.3f | baseline frame_acc %.3f acc@50 %.3f | score %.3f (%.0f s)",
                 epoch, row["train_loss"], val["loss"], val["frame_acc"], val["acc@25"], val["acc@50"],
                 val["acc@100"], val["spot_f1"], val["baseline_frame_acc"], val["baseline_acc@50"], score,
                 row["seconds"])
        if score > best:
            best = score
            meta = {
                "trained_on": "synthetic sequences: real face photos/frames animated by AU-driven landmark warps "
                              "(fer_ros.learn.synth), features through the streaming path (fer_ros.learn.sequences)",
                "train_persons": train_info["persons"], "heldout_persons": val_info["persons"],
                "train_sequences": len(train_seqs), "heldout_sequences": len(val_seqs),
                "train_frames": int(sum(map(len, train_seqs))), "epoch": epoch, "epochs": tcfg["epochs"],
                "val": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in val.items()},
                "selection": "best epoch by mean(frame_acc, acc@25, acc@50, acc@100, interval_acc, spot_f1) "
                             "on held-out",
                "config": cfg, "dataset_seed": data["seed"],
            }
            save_model(model, best_path, meta)
        save_last(out_dir, model, {"epoch": epoch, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                                   "rng": rng_state(rng), "history": history, "best": best,
                                   "initial": initial, "config": cfg})
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", score=f"{score:.3f}")
        if world > 1:
            dist.barrier()
    bar.close()
    if not main_process:
        return best_path
    summary = {
        "config": cfg, "best_score": best, "best_epoch": max(history, key=lambda r: r["score"])["epoch"],
        "initial_val": initial, "history": history, "class_counts": counts.tolist(),
        "class_weights": cw.cpu().tolist(), "data_seconds": t_data,
        "train_seconds": time.perf_counter() - t_start - t_data,
        "dataset_info": {"train": {k: train_info[k] for k in ("frames", "detected_frames", "wall_s", "persons")},
                         "heldout": {k: val_info[k] for k in ("frames", "detected_frames", "wall_s", "persons")}},
    }
    with open(out_dir / "metrics.json", "w") as f:
        json.dump(summary, f, indent=1, default=float)
    load_model(best_path)  # the written file must load
    log.info("best epoch %d (score %.3f) -> %s", summary["best_epoch"], best, best_path)
    return best_path
