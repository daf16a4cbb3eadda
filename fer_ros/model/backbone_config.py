"""What describes a backbone's weights completely; it travels in the safetensors metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

ARCH_NAMES = ("vgg",)  # the families of model.backbone.ARCHS


@dataclass(frozen=True)
class BackboneConfig:
    arch: str = "vgg"
    widths: tuple[int, ...] = (32, 64, 128, 256)  # channels of each stage
    convs: int = 2  # 3x3 convolutions per stage
    hidden: int = 256  # width of the hidden fully connected layer; 0: global average pooling
    dropout: float = 0.4
    input_size: int = 48  # side of the square grey crop the net reads
    equalize: bool = True  # crops are histogram-equalised by the front end (features.face_crops)

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.arch not in ARCH_NAMES:
            raise ValueError(f"unknown backbone arch {self.arch!r}; known: {', '.join(ARCH_NAMES)}")
        if not self.widths or min(self.widths) < 1 or self.convs < 1 or self.hidden < 0:
            raise ValueError(f"bad backbone shape: widths={self.widths}, convs={self.convs}, hidden={self.hidden}")
        if self.input_size % (2 ** len(self.widths)):
            raise ValueError(
                f"input_size {self.input_size} is not divisible by 2^{len(self.widths)} (one pool a stage)"
            )

    @property
    def feature_dim(self) -> int:
        return self.hidden or self.widths[-1]

    def to_dict(self) -> dict:
        """JSON-like (widths as a list), so a config read back from a file compares equal."""
        return {**asdict(self), "widths": list(self.widths)}

    @classmethod
    def from_dict(cls, d: dict) -> BackboneConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown backbone config keys: {sorted(unknown)}")
        return cls(**d)
