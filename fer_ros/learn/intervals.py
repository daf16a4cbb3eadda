"""An expression interval with its ground truth: the record the generator and the readers share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Interval:
    onset: int  # first frame with intensity > 0
    apex: int  # first frame at peak intensity
    apex_end: int  # last frame at peak intensity
    offset: int  # last frame with intensity > 0
    label: int  # CLASS_NAMES index
    peak: float
    micro: bool

    def as_row(self) -> list:
        return [self.onset, self.apex, self.apex_end, self.offset, self.label, self.peak, float(self.micro)]
