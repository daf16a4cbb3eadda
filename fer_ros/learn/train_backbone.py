"""Train an appearance backbone on FER2013: Training to learn, PublicTest to select.

    fer-ros train config/backbone_fer2013.yaml --data PATH --out DIR [--resume]

PATH is fer2013.csv or the Kaggle folder layout (datasets.fer2013). Every face first goes
through the engine's front end (stills.cached_crops), so the net learns on the crops it
will see at run time. The recipe: random affine (rotation, scale, shift) and horizontal
flip, random erasing, label smoothing, optional class-balanced weights, SGD with Nesterov
momentum and a cosine schedule after a linear warm-up; bf16 autocast and channels-last on
CPU (AMX), fp32 elsewhere unless asked. ``distill.teacher`` adds knowledge distillation
from a trained backbone (Hinton et al. 2015: KL between temperature-softened outputs), optionally
from its flip-averaged outputs; ``train.init`` starts from trained weights instead of at random.

Each epoch ends with a validation on PublicTest and writes, atomically:
``last.safetensors`` + ``last_state.safetensors`` (optimizer, RNG states, history: a resumed
run continues exactly), ``best.safetensors`` (the selected epoch: highest PublicTest
accuracy), ``epochs.csv`` and ``curves.png``. PrivateTest is never read here: it is
reported once per shipped model by ``fer-ros eval --dataset fer2013``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from fer_ros.io.plots import plot_training_curves
from fer_ros.model.backbone import (
    BackboneConfig,
    create_backbone,
    load_backbone,
    save_backbone,
    scale,
)
from fer_ros.model.classes import CLASS_NAMES, NUM_CLASSES

from . import metrics
from .datasets.fer2013 import read_fer2013
from .losses import class_balanced_weights
from .run_state import (
    load_state,
    replace_atomically,
    rng_state,
    save_state,
    set_rng_state,
)
from .stills import CACHE_DIR, cached_crops
from .train_config import merge_config

log = logging.getLogger(__name__)

STATE_FORMAT = "fer_ros.BackboneTrainState/1"
DEFAULTS = {
    "task": "backbone",
    "data": {"path": "", "augmented_copies": False, "cache_dir": str(CACHE_DIR), "limit": 0},
    "model": BackboneConfig().to_dict(),
    "train": {
        "epochs": 60,
        "batch_size": 128,
        "lr": 0.05,
        "momentum": 0.9,
        "weight_decay": 5e-4,
        "warmup_epochs": 2,
        "label_smoothing": 0.1,
        "class_balance_beta": 0.0,
        "seed": 0,
        "threads": 2,
        "bf16": "auto",  # auto: bf16 autocast on CPU (AMX / AVX-512 BF16 make it ~3x faster here)
        "rotate": 10.0,
        "scale_min": 0.9,
        "scale_max": 1.1,
        "shift": 0.1,
        "flip": 0.5,
        "erase_p": 0.5,
        "erase_min": 0.02,
        "erase_max": 0.2,
        "progress": True,
        "init": "",  # a trained backbone of the same shape to start from (a second cosine cycle)
    },
    # flip: the teacher's soft targets are the mean of its logits on the crop and its mirror
    # (the flip-averaged teacher scored higher on PublicTest than the plain one)
    "distill": {"teacher": "", "weight": 0.0, "temperature": 4.0, "flip": False},
}


def load_config(path, overrides: dict | None = None) -> dict:
    """YAML merged over DEFAULTS; unknown sections or keys are refused (typos do not pass)."""
    with open(path) as f:
        user = yaml.safe_load(f) or {}
    if user.get("task", "backbone") != "backbone":
        raise ValueError(f"{path}: task {user['task']!r} is not 'backbone'")
    cfg = merge_config(DEFAULTS, user, path)
    for section, values in (overrides or {}).items():
        cfg[section].update(values)
    BackboneConfig.from_dict(cfg["model"])  # refuses a bad shape now, not after the data are read
    return cfg


# ----------------------------------------------------------------------------- augmentation


def augment(x: torch.Tensor, t: dict, gen: torch.Generator | None = None) -> torch.Tensor:
    """Random affine + flip, then random erasing, on a batch (B, 1, S, S) scaled to [-1, 1].

    The affine resamples with border replication, as the front end's alignment pads.
    """
    b = x.shape[0]

    def u(lo, hi, n=b):
        return torch.rand(n, generator=gen) * (hi - lo) + lo

    angle = torch.deg2rad(u(-t["rotate"], t["rotate"]))
    zoom = u(t["scale_min"], t["scale_max"])
    flip = torch.where(torch.rand(b, generator=gen) < t["flip"], -1.0, 1.0)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, u(-t["shift"], t["shift"]) * 2], 1),
            torch.stack([sin * flip, cos, u(-t["shift"], t["shift"]) * 2], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if t["erase_p"] > 0:  # random erasing (Zhong et al. 2020), filled with mid grey
        s = x.shape[-1]
        area = u(t["erase_min"], t["erase_max"]) * s * s
        aspect = torch.exp(u(math.log(0.3), math.log(3.3)))
        h = (area * aspect).sqrt().clamp(1, s)
        w = (area / aspect).sqrt().clamp(1, s)
        y0, x0 = u(0, 1) * (s - h), u(0, 1) * (s - w)
        ys = torch.arange(s).view(1, s, 1)
        xs = torch.arange(s).view(1, 1, s)
        box = (
            (ys >= y0.view(-1, 1, 1))
            & (ys < (y0 + h).view(-1, 1, 1))
            & (xs >= x0.view(-1, 1, 1))
            & (xs < (x0 + w).view(-1, 1, 1))
        )
        box &= (torch.rand(b, generator=gen) < t["erase_p"]).view(-1, 1, 1)
        x = x.masked_fill(box.unsqueeze(1), 0.0)
    return x


# ----------------------------------------------------------------------------- evaluation


def _autocast(device: torch.device, bf16):
    on = device.type == "cpu" if bf16 == "auto" else bool(bf16)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


@torch.inference_mode()
def predict(model, crops: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits (N, 7) of uint8 crops (N, S, S), in eval mode and float32 as the engine runs the net
    (so these figures are the engine's: no bf16 here)."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    for i in range(0, len(crops), batch_size):
        x = scale(torch.from_numpy(crops[i : i + batch_size])).unsqueeze(1).to(device)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, NUM_CLASSES), np.float32)


def figures(logits: np.ndarray, labels: np.ndarray) -> dict:
    rep = metrics.classification_report(labels, logits.argmax(1), NUM_CLASSES)
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    return {"loss": loss, **rep}


# ----------------------------------------------------------------------------- training


@torch.no_grad()
def teacher_logits(teacher, x: torch.Tensor, flip: bool) -> torch.Tensor:
    """The distillation targets' logits: the teacher's, or their mean over the crop and its mirror."""
    soft = teacher(x).float()
    return 0.5 * (soft + teacher(x.flip(-1)).float()) if flip else soft


def _lr(cfg_t: dict, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up for warmup_epochs, then cosine to 0 at the last step."""
    total = cfg_t["epochs"] * steps_per_epoch
    warm = cfg_t["warmup_epochs"] * steps_per_epoch
    if step < warm:
        return cfg_t["lr"] * (step + 1) / warm
    return 0.5 * cfg_t["lr"] * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def _data(cfg: dict, split: str, size: int, equalize: bool, progress: bool):
    d = cfg["data"]
    if not d["path"]:
        raise ValueError("no FER2013 copy given: pass --data PATH (fer2013.csv or the Kaggle folder layout)")
    stills = read_fer2013(d["path"], split, augmented_copies=d["augmented_copies"], limit=d["limit"] or None)
    log.info("FER2013 %s: %d faces %s", split, len(stills), stills.counts())
    return cached_crops(
        stills.images,
        stills.labels,
        size,
        equalize,
        Path(d["cache_dir"]) if d["cache_dir"] else None,
        progress=progress,
    )


def _result_config(cfg: dict) -> dict:
    """What a run's result depends on: a resumed run must match it. The thread count and the
    progress bar may change (e.g. to one thread on a machine that became busy)."""
    return {**cfg, "train": {k: v for k, v in cfg["train"].items() if k not in ("threads", "progress")}}


def _write_csv(history: list[dict], path: Path) -> None:
    cols = list(history[0])

    def write(p):
        with open(p, "w", newline="") as f:
            w = csv.DictWriter(f, cols)
            w.writeheader()
            w.writerows(history)

    replace_atomically(write, path)


def train(
    config_path, out_dir, data_path: str | None = None, resume: bool = False, progress: bool | None = None
) -> Path:
    """Train as the config says; returns the path of the selected (best PublicTest) weights."""
    from tqdm import tqdm

    cfg = load_config(config_path, {"data": {"path": data_path}} if data_path else None)
    t = cfg["train"]
    progress = t["progress"] if progress is None else progress
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(t["threads"]) if t["threads"] else None
    mcfg = BackboneConfig.from_dict(cfg["model"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    train_set = _data(cfg, "Training", mcfg.input_size, mcfg.equalize, progress)
    val_set = _data(cfg, "PublicTest", mcfg.input_size, mcfg.equalize, progress)
    x_train = torch.from_numpy(train_set.crops)
    y_train = torch.from_numpy(train_set.labels)
    counts = np.bincount(train_set.labels, minlength=NUM_CLASSES)
    weights = class_balanced_weights(counts, t["class_balance_beta"]).to(device) if t["class_balance_beta"] else None

    torch.manual_seed(t["seed"])
    rng = np.random.default_rng(t["seed"])
    model = create_backbone(mcfg)
    if t["init"]:
        start_from = load_backbone(t["init"])
        if start_from.cfg != mcfg:
            raise ValueError(f"train.init {t['init']}: its model section differs from this config's")
        model.load_state_dict(start_from.state_dict())
    model = model.to(device).to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]  # BN and biases
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0}],
        lr=t["lr"],
        momentum=t["momentum"],
        nesterov=True,
    )
    teacher = None
    if cfg["distill"]["teacher"] and cfg["distill"]["weight"] > 0:
        teacher = load_backbone(cfg["distill"]["teacher"], device).to(memory_format=torch.channels_last)
        if teacher.cfg.input_size != mcfg.input_size or teacher.cfg.equalize != mcfg.equalize:
            raise ValueError("distill.teacher must read the same crops (input_size, equalize) as the student")

    history: list[dict] = []
    best = {"val_acc": -1.0, "epoch": 0}
    start = 0
    fingerprint = json.dumps({k: cfg[k] for k in ("model", "train", "distill")}, sort_keys=True)
    if resume and (out / "last_state.safetensors").is_file():
        st = load_state(out / "last_state.safetensors", STATE_FORMAT)
        if _result_config(json.loads(st["config"])) != _result_config(json.loads(fingerprint)):
            raise ValueError(f"{out}: the run there used another config; resume needs the same one")
        last = load_backbone(out / "last.safetensors")
        if last.metadata.get("epoch") != st["epoch"]:
            raise ValueError(
                f"{out}: last.safetensors (epoch {last.metadata.get('epoch')}) and last_state.safetensors "
                f"(epoch {st['epoch']}) do not belong together"
            )
        model.load_state_dict(last.state_dict())
        opt.load_state_dict(st["optimizer"])
        set_rng_state(rng, st["rng"])
        history, best, start = st["history"], st["best"], st["epoch"]
        log.info("resumed %s after epoch %d", out, start)

    steps = math.ceil(len(y_train) / t["batch_size"])
    bar = tqdm(
        total=t["epochs"] * steps,
        initial=start * steps,
        disable=not progress,
        unit="batch",
        desc="backbone",
        dynamic_ncols=True,
    )
    for epoch in range(start, t["epochs"]):
        model.train()
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(y_train)))
        loss_sum = hit = seen = 0.0
        for k in range(steps):
            for group in opt.param_groups:
                group["lr"] = _lr(t, epoch * steps + k, steps)
            idx = order[k * t["batch_size"] : (k + 1) * t["batch_size"]]
            x = augment(scale(x_train[idx]).unsqueeze(1), t).to(device).contiguous(memory_format=torch.channels_last)
            y = y_train[idx].to(device)
            with _autocast(device, t["bf16"]):
                logits = model(x)
                loss = F.cross_entropy(logits.float(), y, weight=weights, label_smoothing=t["label_smoothing"])
                if teacher is not None:
                    soft = teacher_logits(teacher, x, cfg["distill"]["flip"])
                    temp = cfg["distill"]["temperature"]
                    kd = (
                        F.kl_div(
                            F.log_softmax(logits.float() / temp, 1),
                            F.log_softmax(soft / temp, 1),
                            reduction="batchmean",
                            log_target=True,
                        )
                        * temp
                        * temp
                    )
                    loss = (1 - cfg["distill"]["weight"]) * loss + cfg["distill"]["weight"] * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(y)
            hit += float((logits.detach().argmax(1) == y).sum())
            seen += len(y)
            bar.update()
            bar.set_postfix(
                epoch=epoch + 1,
                loss=f"{loss_sum / seen:.3f}",
                best=f"{100 * best['val_acc']:.1f}%" if best["epoch"] else "-",
            )
        val = figures(predict(model, val_set.crops), val_set.labels)
        row = {
            "epoch": epoch + 1,
            "lr": _lr(t, (epoch + 1) * steps - 1, steps),
            "train_loss": loss_sum / seen,
            "train_acc": hit / seen,
            "val_loss": val["loss"],
            "val_acc": val["accuracy"],
            "val_uar": val["uar"],
            "val_macro_f1": val["macro_f1"],
            **{f"val_recall_{c}": r for c, r in zip(CLASS_NAMES, val["recall"])},
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        extra = {
            "epoch": epoch + 1,
            "publictest": {k: val[k] for k in ("accuracy", "uar", "macro_f1", "recall")},
            "config": cfg,
        }
        if val["accuracy"] > best["val_acc"]:
            best = {"val_acc": val["accuracy"], "epoch": epoch + 1}
            replace_atomically(lambda p, extra=extra: save_backbone(model, p, extra), out / "best.safetensors")
        save_state(
            out / "last_state.safetensors",
            {
                "epoch": epoch + 1,
                "optimizer": opt.state_dict(),
                "rng": rng_state(rng),
                "history": history,
                "best": best,
                "config": fingerprint,
            },
            STATE_FORMAT,
        )
        replace_atomically(lambda p, extra=extra: save_backbone(model, p, extra), out / "last.safetensors")
        _write_csv(history, out / "epochs.csv")
        replace_atomically(lambda p: plot_training_curves(history, p), out / "curves.png")
        log.info(
            "epoch %d/%d: train loss %.3f acc %.1f%% | PublicTest acc %.2f%% UAR %.2f%% (%.0f s)",
            epoch + 1,
            t["epochs"],
            row["train_loss"],
            100 * row["train_acc"],
            100 * val["accuracy"],
            100 * val["uar"],
            row["seconds"],
        )
    bar.close()
    log.info(
        "best PublicTest accuracy %.2f%% at epoch %d: %s",
        100 * best["val_acc"],
        best["epoch"],
        out / "best.safetensors",
    )
    return out / "best.safetensors"
