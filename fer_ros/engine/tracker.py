"""Face tracker: stable ids from box overlap, matched by optimal assignment.

An id lives while its face keeps being matched; it ends when the face has not been
seen for ``lost_timeout`` seconds of stream time (image stamps, so bag replay and
sim time behave like live cameras). Ids are never reused.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .landmarks import box_iou


@dataclass
class Track:
    id: int
    box: np.ndarray
    first_stamp: float
    last_stamp: float
    hits: int = 1


class Tracker:
    def __init__(self, iou_threshold: float = 0.2, lost_timeout: float = 1.0, ids: Iterator[int] | None = None):
        self.iou_threshold = iou_threshold
        self.lost_timeout = lost_timeout
        self.tracks: dict[int, Track] = {}
        # New ids come from here; several trackers sharing one iterator never share an id.
        self._ids = ids if ids is not None else itertools.count(1)

    def boxes(self, ids: list[int]) -> list[np.ndarray]:
        """Last boxes of the live tracks among ``ids``, in that order."""
        return [self.tracks[i].box for i in ids if i in self.tracks]

    def update(self, boxes: list[np.ndarray], stamp: float) -> tuple[list[int], list[Track]]:
        """Assign an id to each box; returns (ids in box order, tracks that ended now)."""
        live = list(self.tracks.values())
        ids = [0] * len(boxes)
        if live and boxes:
            iou = box_iou(np.stack(boxes), np.stack([t.box for t in live]))
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_threshold:
                    track = live[c]
                    track.box, track.last_stamp = np.asarray(boxes[r], np.float32), stamp
                    track.hits += 1
                    ids[r] = track.id
        for i, box in enumerate(boxes):
            if not ids[i]:
                track = Track(next(self._ids), np.asarray(box, np.float32), stamp, stamp)
                self.tracks[track.id] = track
                ids[i] = track.id
        ended = [t for t in self.tracks.values() if stamp - t.last_stamp > self.lost_timeout]
        for t in ended:
            del self.tracks[t.id]
        return ids, ended

    def end_all(self) -> list[Track]:
        """End every live track (end of stream, reset after a stamp jump)."""
        ended = list(self.tracks.values())
        self.tracks.clear()
        return ended
