"""Recurrent expression model: appearance + geometry streams -> MV-LSTM -> heads.

The same weights serve training (``forward`` on padded (N, T, .) batches) and streaming
inference (``step``, one frame for a batch of faces); both give the same numbers. Saved as
safetensors with the config as JSON metadata (no pickle).

The model reads what the engine measures per frame: the appearance vector (the backbone's
features ++ its 7 logits) and the geometry vector. Its class logits are a bounded residual
on the backbone's own logits, ``head -> B * tanh(head / B)`` then ``+ cnn_logits``: a still
face gets the frame-wise CNN's answer refined by at most B logits, so the recurrent model
may sharpen or delay a label with temporal evidence but never overturn a confident frame.
With ``logit_smoothing`` the residual's base is a learned per-class leaky average of the
CNN's logits instead of this frame's logits alone: on video the CNN's reading jitters from
frame to frame, while for a held still the average is the frame itself. With
``smoothing_gate`` the rate is read from the recurrent state every frame (an LSTM-style
gate), so the average can follow an onset quickly and hold still while nothing moves.

A model file also carries the backbone it was trained on (``cnn.*`` tensors, config in
``ModelConfig.backbone``): the engine encodes faces with exactly that network. The backbone
is frozen here; it is trained on its own (learn.train_backbone).
"""

import json
import os
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import Tensor, nn

from . import WEIGHTS_DIR
from .backbone import BackboneConfig, create_backbone, load_backbone
from .classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES, PHASES
from .mvlstm import MVLSTM
from .vgg import Vgg

FORMAT = "fer_ros.ExpressionModel/2"
# Per-face state: the MV-LSTM's (h, c, m), then (1, N, 1) 1 + the first frame's CNN P(neutral),
# then (1, N, 7) the smoothed CNN logits (logit_smoothing; zeros otherwise).
State = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]
DEFAULT_MODEL = WEIGHTS_DIR / "fer_mvlstm.safetensors"  # the shipped recurrent model


@dataclass
class ModelConfig:
    geometry_dim: int  # size of the geometry vector (given by the caller)
    backbone: dict = field(default_factory=lambda: BackboneConfig().to_dict())  # the appearance network
    hidden: int = 96
    num_layers: int = 1
    stream_dim: int = 48
    mode_size: int | None = None  # MV-LSTM mode state size (None: = hidden)
    dropout: float = 0.1
    stream_dropout: float = 0.15  # per sequence, prob. of zeroing each stream (never both)
    # What the recurrent head may add to the CNN's logits: head -> B * tanh(head / B).
    head_logit_bound: float = 2.0
    # The bound for a face whose FIRST frame the CNN reads as not neutral (P(neutral) < 0.5;
    # 0 = no such rule). The recurrent model reads expressions as changes from where the face
    # started; when it started mid-expression that reference is itself an expression, so the
    # model may then only refine the CNN. The first frame's P(neutral) is kept in the state
    # (its 4th tensor), so streaming and batch agree.
    expressive_rest_bound: float = 1.0
    # Input selection against identity shortcuts (False: the appearance stream sees only the 7
    # CNN logits; the geometry stream only the offset-from-neutral half).
    appearance_features: bool = False
    geometry_shape: bool = False
    # The residual's base: a leaky average of the CNN logits, ema += a * (logits - ema) with a
    # learned rate a = sigmoid(w) per class, the first frame as is (False: this frame's logits).
    logit_smoothing: bool = False
    smoothing_gate: bool = False  # the rate per frame from the MV-LSTM state (else one learned rate per class)
    # False: a face's first frame gets the CNN's logits as they are. That frame has no temporal
    # evidence to add, and a still is a first frame: the head's refinement there measured below
    # the CNN on PublicTest stills (68.5% vs 69.0%, UAR 65.1% vs 68.0%).
    refine_first_frame: bool = True

    def __post_init__(self):
        if not 0 <= self.stream_dropout <= 0.5:  # the two streams are dropped exclusively
            raise ValueError(f"stream_dropout must be in [0, 0.5], got {self.stream_dropout}")
        if self.head_logit_bound <= 0 or self.expressive_rest_bound < 0:
            raise ValueError("head_logit_bound must be > 0 and expressive_rest_bound >= 0")
        self.backbone = BackboneConfig.from_dict(self.backbone).to_dict()  # checked and normalised

    @property
    def appearance_in(self) -> int:
        return BackboneConfig.from_dict(self.backbone).feature_dim + NUM_CLASSES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown ModelConfig keys: {sorted(unknown)}")
        return cls(**d)


def _stream(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.LayerNorm(out_dim), nn.ReLU())


class ExpressionModel(nn.Module):
    HEAD_SIZES = (NUM_CLASSES, 1, 1, len(PHASES))  # logits | intensity | activity | phase
    metadata: dict  # what the model file says of its training (load_model)
    cnn: Vgg

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.cnn = create_backbone(BackboneConfig.from_dict(cfg.backbone)).eval()
        self.cnn.requires_grad_(False)
        self.appearance = _stream(cfg.appearance_in if cfg.appearance_features else NUM_CLASSES, cfg.stream_dim)
        self.geometry = _stream(cfg.geometry_dim if cfg.geometry_shape else cfg.geometry_dim // 2, cfg.stream_dim)
        self.drop = nn.Dropout(cfg.dropout)
        self.rnn = MVLSTM(2 * cfg.stream_dim, cfg.hidden, cfg.num_layers, cfg.mode_size)
        self.heads = nn.Linear(cfg.hidden, sum(self.HEAD_SIZES))  # all heads in one matmul
        with torch.no_grad():  # start as the frame-wise CNN: the class rows add nothing yet
            self.heads.weight[:NUM_CLASSES].zero_()
            self.heads.bias[:NUM_CLASSES].zero_()
        if cfg.logit_smoothing and cfg.smoothing_gate:  # zero-initialised: a = 0.5 until it learns
            self.smoothing_gate = nn.Linear(cfg.hidden, NUM_CLASSES)
            nn.init.zeros_(self.smoothing_gate.weight)
            nn.init.zeros_(self.smoothing_gate.bias)
        elif cfg.logit_smoothing:  # rate logit per class; 0 -> a = 0.5 (a half-life of one frame)
            self.smoothing_rate = nn.Parameter(torch.zeros(NUM_CLASSES))

    def train(self, mode: bool = True) -> "ExpressionModel":
        super().train(mode)
        self.cnn.eval()  # frozen: its BatchNorm statistics and dropout never change here
        return self

    def _streams(self, appearance: Tensor, geometry: Tensor) -> tuple[Tensor, Tensor]:
        """-> (recurrent input, CNN logits for the residual head)."""
        a_in = appearance if self.cfg.appearance_features else appearance[..., -NUM_CLASSES:]
        g_in = geometry if self.cfg.geometry_shape else geometry[..., self.cfg.geometry_dim // 2 :]
        a, g = self.appearance(a_in), self.geometry(g_in)
        cnn = appearance[..., -NUM_CLASSES:]
        p = self.cfg.stream_dropout
        if self.training and p > 0:
            # Zero a whole stream for a whole sequence so the model learns to work from either
            # one; one uniform draw per sequence keeps them exclusive.
            shape = (a.shape[0],) + (1,) * (a.dim() - 1)
            u = torch.rand(shape, device=a.device)
            keep_a = (u >= p).to(a.dtype)
            a = a * keep_a
            g = g * ((u < p) | (u >= 2 * p)).to(g.dtype)
            cnn = cnn * keep_a  # a dropped appearance stream takes its logits with it
        return self.drop(torch.cat([a, g], dim=-1)), cnn

    def _bound(self, start: Tensor) -> Tensor | float:
        """The class head's bound per face from the state's start tensor (1 + the first frame's
        CNN P(neutral)), shaped (N, 1) to broadcast over classes."""
        b, low = self.cfg.head_logit_bound, self.cfg.expressive_rest_bound
        if not low:
            return b
        first_neutral = start[0] - 1.0  # (N, 1)
        return torch.where(first_neutral >= 0.5, torch.full_like(first_neutral, b), torch.full_like(first_neutral, low))

    def _start(self, appearance_t0: Tensor, start: Tensor | None) -> Tensor:
        """(1, N, 1) state tensor: 1 + P(neutral) of the face's first frame (0 = none seen yet)."""
        p = torch.softmax(appearance_t0[..., -NUM_CLASSES:], -1)[..., NEUTRAL : NEUTRAL + 1][None] + 1.0
        return p if start is None else torch.where(start > 0, start, p)

    def _smooth(self, cnn: Tensor, h: Tensor, ema: Tensor | None, past: Tensor | None) -> Tensor:
        """The smoothed CNN logits of every frame of ``cnn`` (N, T, C) (``h`` (N, T, H): the MV-LSTM
        output, for the gate), continuing from ``ema`` (N, C) where ``past`` (N, 1) says a frame came
        before; a first frame passes as is."""
        if self.cfg.smoothing_gate:
            rate = torch.sigmoid(self.smoothing_gate(h))  # (N, T, C)
        else:
            rate = torch.sigmoid(self.smoothing_rate).expand_as(cnn)
        out = []
        for t in range(cnn.shape[1]):
            x = cnn[:, t]
            if ema is None:
                ema = x
            else:
                ema = ema + rate[:, t] * (x - ema)
                if past is not None:
                    ema = torch.where(past, ema, x)
            past = None  # from the second frame on, every face has a past
            out.append(ema)
        return torch.stack(out, 1)

    def _heads(
        self, h: Tensor, cnn_logits: Tensor, bound: Tensor | float, past: Tensor | None = None
    ) -> dict[str, Tensor]:
        """``past``: (N, 1) whether each face had a frame before this call's first one (None: none had)."""
        logits, inten, act, phase = self.heads(self.drop(h)).split(self.HEAD_SIZES, dim=-1)
        b = bound[:, None] if torch.is_tensor(bound) and logits.dim() == 3 else bound  # over frames
        refine = b * torch.tanh(logits / b)
        if not self.cfg.refine_first_frame:  # a face's first frame: the CNN's logits as they are
            n = refine.shape[0]
            had = refine.new_zeros(n, 1) if past is None else past.to(refine.dtype)  # (N, 1)
            if refine.dim() == 3:  # (N, T, C): only the call's first frame can be a face's first
                had = torch.cat([had[:, None], torch.ones_like(refine[:, 1:, :1])], 1)
            refine = refine * had
        logits = refine + cnn_logits
        act = act.squeeze(-1)
        return {
            "logits": logits,  # CLASS_NAMES order
            "intensity": torch.sigmoid(inten.squeeze(-1)),  # 0..1
            "activity": torch.sigmoid(act),  # P(expression in progress)
            "activity_logits": act,  # for a stable BCE
            "phase_logits": phase,  # PHASES order
        }

    def init_state(self, n: int, device=None) -> State:
        """(h, c, m, start, ema): the MV-LSTM state, then (1, n, 1) 1 + the first frame's CNN
        P(neutral) (0 = no frame yet; see expressive_rest_bound), then (1, n, 7) the smoothed
        CNN logits (see logit_smoothing)."""
        h, c, m = self.rnn.init_state(n, device)
        z = torch.zeros(1, n, 1, device=h.device, dtype=h.dtype)
        return h, c, m, z, torch.zeros(1, n, NUM_CLASSES, device=h.device, dtype=h.dtype)

    def forward(
        self, appearance: Tensor, geometry: Tensor, lengths: Tensor | None = None, state: State | None = None
    ) -> dict[str, Tensor]:
        """appearance (N, T, A), geometry (N, T, G) -> dict of (N, T, ...) outputs."""
        x, cnn = self._streams(appearance, geometry)
        start = self._start(appearance[:, 0], None if state is None else state[3])
        h, _ = self.rnn(x, lengths, None if state is None else (state[0], state[1], state[2]))
        past = None if state is None else state[3][0] > 0  # (N, 1): the face had a frame before
        if self.cfg.logit_smoothing:
            cnn = self._smooth(cnn, h, None if state is None else state[4][0], past)
        return self._heads(h, cnn, self._bound(start), past)

    def step(self, appearance: Tensor, geometry: Tensor, state: State | None = None) -> tuple[dict[str, Tensor], State]:
        """One frame for N faces: appearance (N, A), geometry (N, G) -> (dict, state)."""
        x, cnn = self._streams(appearance, geometry)
        start = self._start(appearance, None if state is None else state[3])
        h, (h_, c, m) = self.rnn.step(x, None if state is None else (state[0], state[1], state[2]))
        past = None if state is None else state[3][0] > 0  # (N, 1): the face had a frame before
        if self.cfg.logit_smoothing:
            cnn = self._smooth(cnn[:, None], h[:, None], None if state is None else state[4][0], past)[:, 0]
            ema = cnn[None]
        else:
            ema = torch.zeros_like(cnn)[None] if state is None else state[4]
        return self._heads(h, cnn, self._bound(start), past), (h_, c, m, start, ema)


class StepModule(nn.Module):
    """Tensor-only wrapper of ``ExpressionModel.step`` for torch.jit.trace / ONNX export.

    forward(appearance, geometry, h, c, m, start, ema) ->
        (logits, intensity, activity, phase_logits, h, c, m, start, ema)
    """

    def __init__(self, model: ExpressionModel):
        super().__init__()
        self.model = model

    def forward(
        self, appearance: Tensor, geometry: Tensor, h: Tensor, c: Tensor, m: Tensor, start: Tensor, ema: Tensor
    ):
        out, (h, c, m, start, ema) = self.model.step(appearance, geometry, (h, c, m, start, ema))
        return out["logits"], out["intensity"], out["activity"], out["phase_logits"], h, c, m, start, ema

    def example_inputs(self, n: int = 1):
        cfg = self.model.cfg
        return (torch.zeros(n, cfg.appearance_in), torch.zeros(n, cfg.geometry_dim), *self.model.init_state(n))


def save_model(model: ExpressionModel, path, extra_metadata: dict | None = None) -> None:
    from safetensors.torch import save_file

    meta = {
        "format": FORMAT,
        "config": json.dumps(model.cfg.to_dict()),
        "class_names": json.dumps(CLASS_NAMES),
        "phases": json.dumps(PHASES),
        "extra": json.dumps(extra_metadata or {}, default=float),
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.fspath(path), metadata=meta)


def load_model(path, device="cpu") -> ExpressionModel:
    """Load a model saved by ``save_model``, in eval mode; ``.metadata`` holds the extra metadata."""
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
        raise ValueError(
            f"{path}: not a fer_ros expression model of this version (format={meta.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
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


def load_cnn(path=None, device="cpu") -> Vgg:
    """The frame-wise CNN of ``path``: a backbone file, or the backbone inside an expression model
    file (so a baseline can be the very CNN a recurrent model was trained on). None: shipped."""
    from safetensors import safe_open

    if path is not None and os.path.isfile(path):
        try:
            with safe_open(os.fspath(path), framework="pt", device="cpu") as f:
                is_model = (f.metadata() or {}).get("format") == FORMAT
        except Exception as e:  # safetensors raises its own error types for bad headers / truncation
            raise ValueError(f"{path}: not a readable safetensors file ({e})") from e
        if is_model:
            return load_model(path, device).cnn
    return load_backbone(path, device)
