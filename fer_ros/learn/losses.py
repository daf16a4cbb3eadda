"""Training objective terms. Each is its own function so a config can switch it on/off.

Shapes: N sequences, T frames (padded), C classes. `mask` (N, T) is True on real frames;
every term ignores padded frames. Targets (dict) used by `total_loss`:
    label      (N,) or (N, T) long  sequence class, or per-frame class for clips with
                             several expressions (CLASS_NAMES index)
    rest       optional: what the face shows at intensity 0 (default NEUTRAL; e.g. a photo
                             of a smiling person animated further): class indices (N,) or
                             (N, T) long, or class distributions (N, C) or (N, T, C) float
    ce_weight  optional (N, T) float: extra per-frame weight of the dense CE (0 = not scored)
    ce_intensity optional (N, T) float: the intensity the dense CE labels are built from,
                             when it differs from the regressed one (e.g. relative to each
                             expression's own peak, so a weak micro expression is still
                             labelled with its class at its apex)
    intensity  (N, T) float  per-frame ground-truth / estimated intensity in 0..1
    phase      (N, T) long   per-frame phase (PHASES index), -1 = unknown
    active     (N, T) float  optional in-expression mask; default phase > neutral
    mask       (N, T) bool
    dyn        optional (N, T) bool: frames whose intensity and phase are known (generated);
                             False on real stills, which score the class term only
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from fer_ros.model.classes import NEUTRAL, NUM_CLASSES


def class_balanced_weights(counts: Sequence[float], beta: float = 0.999) -> Tensor:
    """Effective-number class weights (Cui et al., CVPR 2019), as in seed 003's balanced loss.

    w_c = (1 - beta) / (1 - beta^n_c), normalised to sum to C. beta=0 gives all ones,
    beta -> 1 gives inverse frequency. Empty classes are counted as 1 (no inf).
    """
    n = torch.as_tensor(counts, dtype=torch.float64).clamp(min=1)
    w = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), n)) if beta > 0 else torch.ones_like(n)
    return (w * len(w) / w.sum()).float()


def _masked_mean(x: Tensor, w: Tensor) -> Tensor:
    return (x * w).sum() / w.sum().clamp(min=1e-8)


def _per_frame(x: Tensor, like: Tensor) -> Tensor:
    """(N,) -> (N, T) broadcast over frames; (N, T) stays."""
    return (x[:, None] if x.dim() == 1 else x).expand_as(like)


def dense_labels(
    label: Tensor, intensity: Tensor, num_classes: int = NUM_CLASSES, rest: Tensor | None = None
) -> Tensor:
    """Seed 000's dense labels: frame t is the sequence class with weight intensity_t,
    the rest neutral (so a frame with intensity ~0 is labelled neutral). -> (N, T, C).

    `label` may be per sequence (N,) or per frame (N, T). `rest` replaces neutral as what
    the face shows at intensity 0 (default NEUTRAL everywhere): class indices shaped like
    `label`, or class distributions (N, C) / (N, T, C) (e.g. a frame-wise CNN's softmax)."""
    onehot = F.one_hot(_per_frame(label, intensity), num_classes).to(intensity.dtype)  # (N, T, C)
    if rest is None:
        base = torch.zeros_like(onehot)
        base[..., NEUTRAL] = 1
    elif rest.is_floating_point():
        base = (rest[:, None, :] if rest.dim() == 2 else rest).to(intensity.dtype).expand_as(onehot)
    else:
        base = F.one_hot(_per_frame(rest, intensity).clamp(min=0), num_classes).to(intensity.dtype)
    a = intensity.clamp(0, 1)[..., None]
    return a * onehot + (1 - a) * base


def dense_ce_loss(
    logits: Tensor,
    label: Tensor,
    intensity: Tensor,
    mask: Tensor,
    class_weights: Tensor | None = None,
    floor: float = 0.2,
    rest: Tensor | None = None,
    frame_weight: Tensor | None = None,
) -> Tensor:
    """Dense per-frame loss (seed 000): every prefix of the sequence is scored.

    Each real frame t gets the KL between its dense label and the prediction
    (= soft cross-entropy minus the label's entropy, so a perfect prediction scores
    0 and gradients equal those of the CE). Frame weight floor + (1 - floor) * intensity_t
    grows with intensity: early, ambiguous frames count less, but still count, so
    the model learns to predict from partial sequences. Optional per-class weights
    (class_balanced_weights) scale whole sequences by their class, or with per-frame
    labels each frame by its dominant class (label where intensity >= 0.5, else rest).
    `frame_weight` (N, T) multiplies the frame weights (0: frame not scored).
    """
    q = dense_labels(label, intensity, logits.shape[-1], rest)
    logp = F.log_softmax(logits, dim=-1)
    # KL >= 0; the clamp only removes float round-off at a perfect prediction.
    kl = (torch.xlogy(q, q) - q * logp).sum(-1).clamp(min=0)  # (N, T)
    w = (floor + (1 - floor) * intensity.clamp(0, 1)) * mask.to(logits.dtype)
    if frame_weight is not None:
        w = w * frame_weight.to(logits.dtype)
    if class_weights is not None:
        cw = class_weights.to(logits.device, logits.dtype)
        if label.dim() == 1 and rest is None:
            w = w * cw[label][:, None]
        else:
            lab = _per_frame(label, intensity)
            if rest is None:
                base = torch.full_like(lab, NEUTRAL)
            elif rest.is_floating_point():
                base = (rest[:, None, :] if rest.dim() == 2 else rest).argmax(-1).expand_as(lab)
            else:
                base = _per_frame(rest, intensity)
            dominant = torch.where(intensity >= 0.5, lab, base.clamp(min=0))
            w = w * cw[dominant]
    return _masked_mean(kl, w)


def intensity_loss(pred: Tensor, target: Tensor, mask: Tensor, kind: str = "mse") -> Tensor:
    """Per-frame intensity regression, MSE or L1."""
    err = pred - target
    per = err.abs() if kind == "l1" else err.square()
    return _masked_mean(per, mask.to(pred.dtype))


def activity_loss(activity_logits: Tensor, active: Tensor, mask: Tensor) -> Tensor:
    """BCE of the activity head against the in-expression mask (spotting)."""
    bce = F.binary_cross_entropy_with_logits(activity_logits, active.to(activity_logits.dtype), reduction="none")
    return _masked_mean(bce, mask.to(activity_logits.dtype))


def phase_loss(phase_logits: Tensor, phase: Tensor, mask: Tensor) -> Tensor:
    """CE on the per-frame phase; padded frames and phase == -1 are ignored."""
    valid = mask & (phase >= 0)
    ce = F.cross_entropy(phase_logits.flatten(0, 1), phase.clamp(min=0).flatten(), reduction="none")
    return _masked_mean(ce.view_as(phase), valid.to(phase_logits.dtype))


def spotting_loss(
    activity_logits: Tensor,
    phase_logits: Tensor,
    active: Tensor,
    phase: Tensor,
    mask: Tensor,
    phase_weight: float = 1.0,
) -> Tensor:
    """Spotting (seed 002's joint spotting + recognition): activity BCE + phase CE."""
    return activity_loss(activity_logits, active, mask) + phase_weight * phase_loss(phase_logits, phase, mask)


DEFAULT_WEIGHTS = {"dense_ce": 1.0, "intensity": 1.0, "activity": 0.5, "phase": 0.5}


def total_loss(
    outputs: dict[str, Tensor],
    targets: dict[str, Tensor],
    weights: dict[str, float] | None = None,
    class_weights: Tensor | None = None,
    intensity_kind: str = "mse",
    ce_floor: float = 0.2,
) -> tuple[Tensor, dict[str, float]]:
    """Weighted sum of the terms named in `weights` (keys of DEFAULT_WEIGHTS; weight 0 or
    missing = term off, not computed). Returns (loss, {term: value as float})."""
    weights = DEFAULT_WEIGHTS if weights is None else weights
    unknown = set(weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"unknown loss terms: {sorted(unknown)}")
    mask = targets["mask"].bool()
    dyn = mask & targets["dyn"].bool() if "dyn" in targets else mask  # intensity and phase known
    phase = targets.get("phase")
    terms: dict[str, Tensor] = {}
    if weights.get("dense_ce", 0):
        terms["dense_ce"] = dense_ce_loss(
            outputs["logits"],
            targets["label"],
            targets.get("ce_intensity", targets["intensity"]),
            mask,
            class_weights,
            ce_floor,
            targets.get("rest"),
            targets.get("ce_weight"),
        )
    if weights.get("intensity", 0):
        terms["intensity"] = intensity_loss(outputs["intensity"], targets["intensity"], dyn, intensity_kind)
    if weights.get("activity", 0):
        active = targets.get("active")
        if active is None:
            if phase is None:
                raise ValueError("activity loss needs targets['active'] or targets['phase']")
            active = (phase > NEUTRAL).float()
        logits = outputs.get("activity_logits")
        if logits is None:  # only probabilities given: invert the sigmoid safely
            logits = torch.logit(outputs["activity"].clamp(1e-6, 1 - 1e-6))
        terms["activity"] = activity_loss(logits, active, dyn)
    if weights.get("phase", 0):
        terms["phase"] = phase_loss(outputs["phase_logits"], phase, dyn)
    if not terms:
        raise ValueError("total_loss: all loss weights are zero")
    loss = sum(weights[k] * v for k, v in terms.items())
    return loss, {k: float(v.detach()) for k, v in terms.items()}
