"""The recurrent model's training config: DEFAULTS and ``load_config`` (YAML merged over them).

config/train_default.yaml is the shipped run; a key it does not list keeps its value here.
Unknown sections or keys are refused, so a typo never trains silently with a default.
"""

from __future__ import annotations

import json

import yaml

from .losses import DEFAULT_WEIGHTS

DEFAULTS = {
    "task": "recurrent",
    "data": {
        "dir": ".cache/datasets",
        "name": "synth",
        "build_if_missing": True,
        "fer2013": "",
        "media_dir": "",
        "sequences": {"train": 400, "val": 48},
        "bases": {"train": 200, "val": 24},
        "seed": 0,
        "workers": 2,
        "detect_every": 1,
        "min_len": 40,
        "max_len": 120,
        "stills_cache": ".cache/stills",
        "jitter": {"train": 0, "val": 0, "frames": 16, "seed": 0},
    },
    "model": {
        "backbone": "",
        "hidden": 96,
        "stream_dim": 48,
        "num_layers": 1,
        "mode_size": None,
        "dropout": 0.1,
        "stream_dropout": 0.15,
        "head_logit_bound": 2.0,
        "expressive_rest_bound": 1.0,
        "appearance_features": False,
        "geometry_shape": False,
        "logit_smoothing": False,
        "smoothing_gate": False,
        "refine_first_frame": True,
    },
    "train": {
        "epochs": 30,
        "batch_size": 32,
        "lr": 2e-3,
        "weight_decay": 1e-2,
        "grad_clip": 1.0,
        "seed": 0,
        "device": "auto",
        "threads": 0,
        "crop_min": 24,
        "p_crop": 0.8,
        "p_resample": 0.5,
        "stride_min": 0.7,
        "stride_max": 1.5,
        "class_balance_beta": 0.999,
        "ce_floor": 0.2,
        "p_logit_shift": 0.5,
        "logit_shift_max": 6.0,
        "p_amplify": 0.5,
        "amplify_max": 3.0,
        "stills_per_epoch": 4000,
        "jitter_per_epoch": 0,
        "still_len_max": 4,
        "loss_weights": dict(DEFAULT_WEIGHTS),
        "max_sequences": 0,
        "progress": True,
    },
}


def merge_config(defaults: dict, user: dict, path) -> dict:
    """``user`` (a parsed YAML, sections of keys) over a copy of ``defaults``; a nested dict merges
    key by key. Unknown sections or keys raise ValueError naming ``path``; ``task`` is skipped."""
    cfg = json.loads(json.dumps(defaults))
    for section, values in user.items():
        if section == "task":
            continue
        if section not in cfg or not isinstance(values, dict):
            known = ", ".join(k for k in cfg if k != "task")
            raise ValueError(f"{path}: unknown section {section!r} (known: {known})")
        for k, v in values.items():
            if k not in cfg[section]:
                raise ValueError(f"{path}: unknown key {section}.{k}")
            if isinstance(cfg[section][k], dict) and isinstance(v, dict):  # keys not given keep their defaults
                unknown = set(v) - set(cfg[section][k])
                if unknown:
                    raise ValueError(f"{path}: unknown key {section}.{k}.{sorted(unknown)[0]}")
                cfg[section][k].update(v)
            else:
                cfg[section][k] = v
    return cfg


def load_config(path) -> dict:
    """YAML merged over DEFAULTS (merge_config)."""
    with open(path) as f:
        return merge_config(DEFAULTS, yaml.safe_load(f) or {}, path)
