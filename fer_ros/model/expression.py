"""Recurrent expression model: appearance + geometry streams -> MV-LSTM -> heads.

The same weights serve training (`forward` on padded (N, T, .) batches) and
streaming inference (`step`, one frame for a batch of faces); both give the same
numbers. Saved as safetensors with the config as JSON metadata (no pickle).

Appearance CNN frozen or fine-tuned (``ModelConfig.finetune_cnn``): by default the model
reads precomputed appearance vectors (the shipped FER2013 mini-Xception's features ++
logits, features.AppearanceEncoder), i.e. the CNN is frozen and not part of the model.
With ``finetune_cnn`` the model owns a mini-Xception (``self.cnn``, initialised from the
shipped FER2013 weights) that trains end to end: ``encode(crops)`` turns grey 64x64 face
crops into the same (..., 135) layout, ``forward(..., crops=, face=)`` runs it inside the
training forward, its tensors are saved with the model (``cnn.*``), and the streaming
engine encodes faces with this CNN (AppearanceEncoder(cnn=model.cnn)), so training and
streaming use the same network. ``step`` still takes appearance vectors.
"""

import json
import os
from dataclasses import asdict, dataclass, fields
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from .classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES, PHASES
from .mini_xception import FEATURE_DIM, load_mini_xception, scale
from .mvlstm import MVLSTM, State

FORMAT = "fer_ros.ExpressionModel/1"


@dataclass
class ModelConfig:
    geometry_dim: int                  # size of the geometry vector (given by the caller)
    appearance_dim: int = 128          # CNN feature size; the 7 CNN logits are appended to it
    hidden: int = 128
    num_layers: int = 1
    stream_dim: int = 64
    mode_size: Optional[int] = None    # MV-LSTM mode state size (None: = hidden)
    mode_readout: bool = False         # let h see the mode state through a gate
    dropout: float = 0.1
    stream_dropout: float = 0.15       # per sequence, prob. of zeroing each stream (never both)
    # Class logits = head(h) + the CNN's own logits (last 7 appearance inputs): an unchanged
    # face gets the frame-wise CNN's answer and the recurrent state adds temporal evidence.
    # Off for configs saved before it existed.
    residual_cnn_logits: bool = False
    # With the residual head: bound what the recurrent head may add to the CNN's logits,
    # head -> B * tanh(head / B) (0 = unbounded), so a model trained on synthetic warps can
    # refine the CNN's answer on real faces but not overturn a confident one.
    head_logit_bound: float = 0.0
    # With a bound: the bound for a face whose FIRST frame the CNN reads as not neutral
    # (P(neutral) < 0.5; 0 = no such rule). The recurrent model reads expressions as changes
    # from where the face started; when it started mid-expression that reference is itself an
    # expression, and changes from it (sobbing while crying) say little about the class, so
    # the model may then only refine the CNN. The first frame's P(neutral) is kept in the
    # state (its 4th tensor), so streaming and batch agree.
    expressive_rest_bound: float = 0.0
    # Input selection against identity shortcuts with few training people (defaults = all inputs):
    appearance_features: bool = True   # False: the appearance stream sees only the 7 CNN logits
    geometry_shape: bool = True        # False: the geometry stream sees only the offset-from-
                                       # neutral half (second half of the geometry vector)
    # Which streams the class head reads: "both" (one MV-LSTM over both streams feeds every
    # head) or "appearance": the class head reads a second MV-LSTM that sees the appearance
    # stream only, while intensity / activity / phase read the joint one. Geometry then
    # decides *when* (spotting) and the CNN's real-face semantics decide *what*.
    class_from: str = "both"
    # The model owns the appearance CNN (mini-Xception, from the FER2013 weights) and trains it
    # end to end from face crops; False: precomputed features of the stock, frozen CNN.
    # Off for configs saved before it existed.
    finetune_cnn: bool = False

    def __post_init__(self):
        if not 0 <= self.stream_dropout <= 0.5:  # the two streams are dropped exclusively
            raise ValueError(f"stream_dropout must be in [0, 0.5], got {self.stream_dropout}")
        if self.expressive_rest_bound < 0 or self.head_logit_bound < 0:
            raise ValueError("head_logit_bound and expressive_rest_bound must be >= 0")
        if self.class_from not in ("both", "appearance"):
            raise ValueError(f"class_from must be 'both' or 'appearance', got {self.class_from!r}")
        if self.finetune_cnn and self.appearance_dim != FEATURE_DIM:
            raise ValueError(f"finetune_cnn: the mini-Xception gives {FEATURE_DIM} features, "
                             f"appearance_dim is {self.appearance_dim}")

    @property
    def appearance_in(self) -> int:
        return self.appearance_dim + NUM_CLASSES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {sorted(unknown)}")
        return cls(**d)


class SplitCores(nn.Module):
    """Two MV-LSTMs side by side behind the MVLSTM interface: ``joint`` reads the whole
    input (both streams), ``appearance`` only its first ``split`` features (the appearance
    stream). Outputs and states are concatenated on the feature axis, joint first, so
    callers (the state pool, StepModule) still see one (h, c, m)."""

    def __init__(self, split: int, input_size: int, hidden: int, num_layers: int, mode_size, mode_readout):
        super().__init__()
        self.split = split
        self.joint = MVLSTM(input_size, hidden, num_layers, mode_size, mode_readout)
        self.appearance = MVLSTM(split, hidden, num_layers, mode_size, mode_readout)
        self.sizes = (hidden, hidden, mode_size or hidden)  # of h, c, m in the joint core

    def init_state(self, batch: int, device=None) -> State:
        a, b = self.joint.init_state(batch, device), self.appearance.init_state(batch, device)
        return tuple(torch.cat([x, y], -1) for x, y in zip(a, b))

    def _parts(self, state: Optional[State]):
        if state is None:
            return None, None
        return (tuple(s[..., :k] for s, k in zip(state, self.sizes)),
                tuple(s[..., k:] for s, k in zip(state, self.sizes)))

    @staticmethod
    def _join(a: State, b: State) -> State:
        return tuple(torch.cat([x, y], -1) for x, y in zip(a, b))

    def step(self, x: Tensor, state: Optional[State] = None) -> Tuple[Tensor, State]:
        sa, sb = self._parts(state)
        ha, sa = self.joint.step(x, sa)
        hb, sb = self.appearance.step(x[..., :self.split], sb)
        return torch.cat([ha, hb], -1), self._join(sa, sb)

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None,
                state: Optional[State] = None) -> Tuple[Tensor, State]:
        sa, sb = self._parts(state)
        ha, sa = self.joint(x, lengths, sa)
        hb, sb = self.appearance(x[..., :self.split], lengths, sb)
        return torch.cat([ha, hb], -1), self._join(sa, sb)


def _stream(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.LayerNorm(out_dim), nn.ReLU())


class ExpressionModel(nn.Module):
    HEAD_SIZES = (NUM_CLASSES, 1, 1, len(PHASES))  # logits | intensity | activity | phase

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.appearance = _stream(cfg.appearance_in if cfg.appearance_features else NUM_CLASSES,
                                  cfg.stream_dim)
        self.geometry = _stream(cfg.geometry_dim if cfg.geometry_shape else cfg.geometry_dim // 2,
                                cfg.stream_dim)
        self.drop = nn.Dropout(cfg.dropout)
        if cfg.class_from == "appearance":
            self.rnn = SplitCores(cfg.stream_dim, 2 * cfg.stream_dim, cfg.hidden, cfg.num_layers,
                                  cfg.mode_size, cfg.mode_readout)
            self.heads = nn.Linear(cfg.hidden, sum(self.HEAD_SIZES[1:]))  # from the joint core
            self.class_head = nn.Linear(cfg.hidden, NUM_CLASSES)         # from the appearance core
            class_rows = self.class_head
        else:
            self.rnn = MVLSTM(2 * cfg.stream_dim, cfg.hidden, cfg.num_layers, cfg.mode_size,
                              cfg.mode_readout)
            self.heads = nn.Linear(cfg.hidden, sum(self.HEAD_SIZES))  # all heads in one matmul
            self.class_head = None
            class_rows = self.heads
        if cfg.residual_cnn_logits:
            with torch.no_grad():  # start as the frame-wise CNN: the class rows add nothing yet
                class_rows.weight[:NUM_CLASSES].zero_()
                class_rows.bias[:NUM_CLASSES].zero_()
        # finetune_cnn: the appearance CNN, starting from the shipped FER2013 weights (a loaded
        # model then overwrites them with its own); None: appearance vectors come precomputed.
        self.cnn = load_mini_xception() if cfg.finetune_cnn else None
        if self.cnn is not None:
            self.cnn.eval()

    def train(self, mode: bool = True) -> "ExpressionModel":
        super().train(mode)
        if self.cnn is not None:
            # The CNN's BatchNorm stays in eval mode while fine-tuning: its FER2013 running
            # statistics normalise, and they are never updated. A training batch is a few
            # sequences of near-identical consecutive frames of the same few faces, so batch
            # statistics are far from the population's: normalising by them would make the
            # training forward differ from the streaming one (one face, eval mode), and the
            # running averages would drift towards these faces. The BN scales and shifts still
            # learn, as every other CNN weight (the CNN has no dropout: eval changes only BN).
            self.cnn.eval()
        return self

    def encode(self, crops: Tensor) -> Tensor:
        """Grey face crops (..., 64, 64), pixel values 0..255 (uint8 or float) -> appearance
        (..., 135) = CNN features (128) ++ CNN logits (7, CLASS_NAMES order), with the model's
        own CNN (finetune_cnn): the layout and scaling of features.AppearanceEncoder."""
        if self.cnn is None:
            raise RuntimeError("encode needs a model with its own CNN (ModelConfig.finetune_cnn)")
        lead = crops.shape[:-2]
        x = scale(crops.reshape(-1, 1, *crops.shape[-2:]))
        return self.cnn.appearance(x).reshape(*lead, self.cfg.appearance_in)

    def _encode_faces(self, crops: Tensor, face: Optional[Tensor]) -> Tensor:
        """encode(crops) on the frames with a face (N, T) bool, zeros elsewhere (as the datasets
        store frames without a face); the CNN runs on those frames only."""
        if face is None:
            return self.encode(crops)
        out = crops.new_zeros((*face.shape, self.cfg.appearance_in), dtype=torch.float32)
        if not bool(face.any()):
            return out
        return out.index_put((face,), self.encode(crops[face]))

    def _inputs(self, appearance: Tensor, geometry: Tensor) -> Tensor:
        return self._streams(appearance, geometry)[0]

    def _streams(self, appearance: Tensor, geometry: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """-> (recurrent input, CNN logits for the residual head or None)."""
        a_in = appearance if self.cfg.appearance_features else appearance[..., -NUM_CLASSES:]
        g_in = geometry if self.cfg.geometry_shape else geometry[..., self.cfg.geometry_dim // 2:]
        a, g = self.appearance(a_in), self.geometry(g_in)
        cnn = appearance[..., -NUM_CLASSES:] if self.cfg.residual_cnn_logits else None
        p = self.cfg.stream_dropout
        if self.training and p > 0:
            # Zero a whole stream for a whole sequence so the model learns to work
            # from either one; one uniform draw per sequence keeps them exclusive.
            shape = (a.shape[0],) + (1,) * (a.dim() - 1)
            u = torch.rand(shape, device=a.device)
            keep_a = (u >= p).to(a.dtype)
            a = a * keep_a
            g = g * ((u < p) | (u >= 2 * p)).to(g.dtype)
            if cnn is not None:  # a dropped appearance stream takes its logits with it
                cnn = cnn * keep_a
        return self.drop(torch.cat([a, g], dim=-1)), cnn

    def _bound(self, start: Tensor) -> Tensor | float:
        """The class head's bound per face from the state's start tensor (1 + the first frame's
        CNN P(neutral)), shaped (N, 1) to broadcast over classes."""
        b, low = self.cfg.head_logit_bound, self.cfg.expressive_rest_bound
        if not low:
            return b
        first_neutral = start[0] - 1.0  # (N, 1)
        return torch.where(first_neutral >= 0.5, torch.full_like(first_neutral, b),
                           torch.full_like(first_neutral, low))

    def _start(self, appearance_t0: Tensor, start: Optional[Tensor]) -> Tensor:
        """(1, N, 1) state tensor: 1 + P(neutral) of the face's first frame (0 = none seen yet)."""
        p = torch.softmax(appearance_t0[..., -NUM_CLASSES:], -1)[..., NEUTRAL:NEUTRAL + 1][None] + 1.0
        return p if start is None else torch.where(start > 0, start, p)

    def _heads(self, h: Tensor, cnn_logits: Optional[Tensor], bound: Tensor | float) -> Dict[str, Tensor]:
        if self.class_head is None:
            logits, inten, act, phase = self.heads(self.drop(h)).split(self.HEAD_SIZES, dim=-1)
        else:
            H = self.cfg.hidden
            logits = self.class_head(self.drop(h[..., H:]))
            inten, act, phase = self.heads(self.drop(h[..., :H])).split(self.HEAD_SIZES[1:], dim=-1)
        if cnn_logits is not None:
            if self.cfg.head_logit_bound > 0:
                b = bound[:, None] if torch.is_tensor(bound) and logits.dim() == 3 else bound  # over frames
                logits = b * torch.tanh(logits / b)
            logits = logits + cnn_logits
        act = act.squeeze(-1)
        return {
            "logits": logits,                               # CLASS_NAMES order
            "intensity": torch.sigmoid(inten.squeeze(-1)),  # 0..1
            "activity": torch.sigmoid(act),                 # P(expression in progress)
            "activity_logits": act,                         # for a stable BCE
            "phase_logits": phase,                          # PHASES order
        }

    def init_state(self, n: int, device=None) -> State:
        """(h, c, m, start): the MV-LSTM state, then (1, n, 1) 1 + the first frame's CNN
        P(neutral) (0 = no frame yet; see expressive_rest_bound)."""
        h, c, m = self.rnn.init_state(n, device)
        return h, c, m, torch.zeros(1, n, 1, device=h.device, dtype=h.dtype)

    def forward(self, appearance: Tensor, geometry: Tensor, lengths: Optional[Tensor] = None,
                state: Optional[State] = None, crops: Optional[Tensor] = None,
                face: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """appearance (N, T, 135), geometry (N, T, G) -> dict of (N, T, ...) outputs.

        finetune_cnn training: crops (N, T, 64, 64) grey uint8 and face (N, T) bool (frames with
        a face; None: all). The appearance input is then encode(crops) on the face frames (zeros
        elsewhere) PLUS `appearance`, which carries only additive augmentation (the trainer's
        CNN-logit shift, feature noise; zeros for none). The CNN runs inside this forward, so a
        DDP wrapper sees all of it.
        """
        if crops is not None:
            appearance = appearance + self._encode_faces(crops, face)
        x, cnn = self._streams(appearance, geometry)
        start = self._start(appearance[:, 0], None if state is None else state[3])
        h, _ = self.rnn(x, lengths, None if state is None else state[:3])
        return self._heads(h, cnn, self._bound(start))

    def step(self, appearance: Tensor, geometry: Tensor, state: Optional[State] = None
             ) -> Tuple[Dict[str, Tensor], State]:
        """One frame for N faces: appearance (N, 135), geometry (N, G) -> (dict, state)."""
        x, cnn = self._streams(appearance, geometry)
        start = self._start(appearance, None if state is None else state[3])
        h, rnn_state = self.rnn.step(x, None if state is None else state[:3])
        return self._heads(h, cnn, self._bound(start)), (*rnn_state, start)


class StepModule(nn.Module):
    """Tensor-only wrapper of `ExpressionModel.step` for torch.jit.trace / ONNX export.

    forward(appearance, geometry, h, c, m, start) ->
        (logits, intensity, activity, phase_logits, h, c, m, start)
    """

    def __init__(self, model: ExpressionModel):
        super().__init__()
        self.model = model

    def forward(self, appearance: Tensor, geometry: Tensor, h: Tensor, c: Tensor, m: Tensor, start: Tensor):
        out, (h, c, m, start) = self.model.step(appearance, geometry, (h, c, m, start))
        return out["logits"], out["intensity"], out["activity"], out["phase_logits"], h, c, m, start

    def example_inputs(self, n: int = 1):
        cfg = self.model.cfg
        return (torch.zeros(n, cfg.appearance_in), torch.zeros(n, cfg.geometry_dim),
                *self.model.init_state(n))


def save_model(model: ExpressionModel, path, extra_metadata: Optional[dict] = None) -> None:
    from safetensors.torch import save_file

    meta = {
        "format": FORMAT,
        "config": json.dumps(model.cfg.to_dict()),
        "class_names": json.dumps(CLASS_NAMES),
        "phases": json.dumps(PHASES),
        "extra": json.dumps(extra_metadata or {}),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.fspath(path), metadata=meta)


def load_model(path, device="cpu") -> ExpressionModel:
    """Load a model saved by `save_model`, in eval mode; `.metadata` holds the extra metadata."""
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types for bad headers / truncation
        raise ValueError(f"{path}: not a readable safetensors model file ({e})") from e
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fer_ros expression model (format={meta.get('format')!r})")
    try:
        cfg = ModelConfig.from_dict(json.loads(meta["config"]))
        if tuple(json.loads(meta["class_names"])) != CLASS_NAMES:
            raise ValueError(f"class order {meta['class_names']} != {CLASS_NAMES}")
        model = ExpressionModel(cfg)
        model.load_state_dict(tensors, strict=True)
        model.metadata = json.loads(meta.get("extra", "{}"))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ValueError(f"{path}: bad model metadata or weights ({e})") from e
    return model.to(device).eval()
