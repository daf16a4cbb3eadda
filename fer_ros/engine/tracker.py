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

    def update(
        self, boxes: list[np.ndarray], stamp: float, known: list[int | None] | None = None
    ) -> tuple[list[int], list[Track]]:
        """Assign an id to each box; returns (ids in box order, tracks that ended now).

        ``known``: per box, the id of the track it was followed from (landmark tracking), or
        None for a face found by detection, which is matched to the other live tracks by
        overlap (a face that came back) or gets a new id."""
        known = known or [None] * len(boxes)
        ids = [0] * len(boxes)
        for i, fid in enumerate(known):
            if fid is not None and fid in self.tracks:
                self._hit(self.tracks[fid], boxes[i], stamp)
                ids[i] = fid
        live = [t for t in self.tracks.values() if t.id not in ids]
        free = [i for i in range(len(boxes)) if not ids[i]]
        if live and free:
            iou = box_iou(np.stack([boxes[i] for i in free]), np.stack([t.box for t in live]))
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= self.iou_threshold:
                    self._hit(live[c], boxes[free[r]], stamp)
                    ids[free[r]] = live[c].id
        for i, box in enumerate(boxes):
            if not ids[i]:
                track = Track(next(self._ids), np.asarray(box, np.float32), stamp, stamp)
                self.tracks[track.id] = track
                ids[i] = track.id
        ended = [t for t in self.tracks.values() if stamp - t.last_stamp > self.lost_timeout]
        for t in ended:
            del self.tracks[t.id]
        return ids, ended

    @staticmethod
    def _hit(track: Track, box: np.ndarray, stamp: float) -> None:
        track.box, track.last_stamp = np.asarray(box, np.float32), stamp
        track.hits += 1

    def end_all(self) -> list[Track]:
        """End every live track (end of stream, reset after a stamp jump)."""
        ended = list(self.tracks.values())
        self.tracks.clear()
        return ended
