"""Engine on real clips through real MediaPipe: tracking, face lifetime, outputs, batching.

Clip runs are shared through conftest's session cache (one pass per clip and model).
Ground truth for the enter/leave clips was read off the frames by eye: in
face_noface.mov frame 71 is the last with the face (72 is black, then sky); in
noface_face.mov the face is in frames 96..167 (95 is sky, 168 black).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import defaultdict

import cv2
import numpy as np
import pytest
import torch

from fer_ros.engine.engine import Engine, EngineConfig
from fer_ros.engine.features import AppearanceEncoder, geometry_of, to_gray
from fer_ros.engine.front_end import FrontEnd
from fer_ros.engine.geometry import GEOMETRY_DIM, RunningNeutral
from fer_ros.engine.landmarks import box_iou
from fer_ros.engine.predictors import RecurrentPredictor
from fer_ros.engine.runtime import onnxruntime_available, resolve_runtime
from fer_ros.io.media import (
    DEFAULT_INPUT,
    FACE_ENTERS_CLIP,
    FACE_LEAVES_CLIP,
    MULTI_FACE_PHOTO,
    NO_FACE_CLIP,
    SHORT_FACE_CLIP,
    SINGLE_FACE_CLIP,
    media_path,
)
from fer_ros.model.backbone import load_backbone, scale
from fer_ros.model.classes import CLASS_NAMES, PHASES
from fer_ros.model.expression import (
    DEFAULT_MODEL,
    ExpressionModel,
    ModelConfig,
    save_model,
)

LEAVES_LAST_FACE = 71
ENTERS_FIRST_FACE, ENTERS_LAST_FACE = 96, 167
SLACK = 3  # frames of detector latency allowed around a true appearance/disappearance


# ------------------------------------------------------------------ helpers


def check_face_results(run) -> int:
    """Every FaceResult is a valid distribution with values in range; returns how many."""
    n = 0
    for r in run.results:
        json.dumps(r.to_json())  # serialisable as written to frames.jsonl
        assert len({f.id for f in r.faces}) == len(r.faces), f"frame {r.frame}: duplicate ids"
        for f in r.faces:
            # Plain Python numbers leave the engine: no numpy buffer or tensor is kept alive by a result.
            assert all(type(v) is float for v in f.scores + f.box), (type(f.scores), type(f.box))
            scores = np.asarray(f.scores)
            assert scores.shape == (len(CLASS_NAMES),)
            assert np.all(scores >= 0) and np.all(scores <= 1)
            assert scores.sum() == pytest.approx(1.0, abs=1e-4)
            assert f.label == CLASS_NAMES[int(np.argmax(scores))]
            assert f.confidence == pytest.approx(float(scores.max()))
            assert 0.0 <= f.intensity <= 1.0 and 0.0 <= f.activity <= 1.0
            assert f.phase in PHASES
            assert np.all(np.isfinite(f.box)) and f.box[2] > 0 and f.box[3] > 0
            n += 1
    return n


def check_events(run) -> dict[int, list]:
    """Per id: started/apex/ended triples in that order, consistent frames and stamps; returns them."""
    by_id = defaultdict(list)
    for k, ev in run.events():
        by_id[ev.face_id].append((k, ev))
    seen = defaultdict(set)
    for k, r in enumerate(run.results):
        for f in r.faces:
            seen[f.id].add(k)
    for fid, evs in by_id.items():
        statuses = [ev.status for _, ev in evs]
        assert statuses == ["started", "apex", "ended"] * (len(evs) // 3), f"id {fid}: {statuses}"
        previous_offset = -1
        for (ks, s), (ka, a), (ke, e) in zip(evs[0::3], evs[1::3], evs[2::3]):
            assert s.onset == a.onset == e.onset and a.apex == e.apex
            assert previous_offset < s.onset <= a.apex <= e.offset, (s, a, e)
            assert s.onset <= ks and a.apex <= ka <= ke and e.offset <= ke
            assert {s.onset, a.apex, e.offset} <= seen[fid], "interval frames must be frames the face was seen"
            assert e.onset_stamp == pytest.approx(run.stamps[e.onset])
            assert e.apex_stamp == pytest.approx(run.stamps[e.apex])
            assert e.offset_stamp == pytest.approx(run.stamps[e.offset])
            assert e.label in CLASS_NAMES and 0.0 <= e.confidence <= 1.0 + 1e-6
            assert e.scores.sum() == pytest.approx(1.0, abs=1e-3)
            previous_offset = e.offset
    return by_id


def blank_like(image: np.ndarray) -> np.ndarray:
    return np.full_like(image, 127)


# ------------------------------------------------------------------ clips


def test_single_face_clip_one_id_in_nearly_every_frame(run_clip, engine_model):
    run = run_clip(SINGLE_FACE_CLIP, engine_model)
    assert len(run.results) == 472
    assert len(run.all_ids()) == 1
    assert max(len(r.faces) for r in run.results) == 1
    found = sum(len(r.faces) == 1 for r in run.results)
    assert found >= 0.95 * len(run.results), f"face in {found}/{len(run.results)} frames"
    assert check_face_results(run) == found
    check_events(run)


def test_no_face_clip_gives_nothing(run_clip, engine_model):
    run = run_clip(NO_FACE_CLIP, engine_model)
    assert len(run.results) > 50
    assert all(not r.faces and not r.events and r.error is None for r in run.results)
    assert all(not live for live in run.live)
    assert run.final_events == []


def test_source_stamps_start_at_zero_and_increase(clip_frames):
    for name in (SINGLE_FACE_CLIP, SHORT_FACE_CLIP, FACE_LEAVES_CLIP, FACE_ENTERS_CLIP, NO_FACE_CLIP):
        stamps = clip_frames(name)[1]
        assert stamps[0] >= 0.0, f"{name}: first stamp {stamps[0]}"
        assert all(b > a for a, b in zip(stamps, stamps[1:])), name


def test_face_leaves_track_ends_lost_timeout_after_last_sighting(run_clip, engine_model):
    run = run_clip(FACE_LEAVES_CLIP, engine_model)
    (fid,) = run.all_ids()
    seen = run.frames_with(fid)
    assert seen[0] <= SLACK
    last = seen[-1]
    assert abs(last - LEAVES_LAST_FACE) <= SLACK, f"face last seen at {last}, really at {LEAVES_LAST_FACE}"
    assert len(seen) >= 0.95 * (last + 1)

    timeout = run.config.lost_timeout
    # The id stays alive while unseen for up to lost_timeout seconds of stream time, then ends.
    end = next(k for k in range(last + 1, len(run.results)) if fid not in run.live[k])
    assert run.stamps[end] - run.stamps[last] > timeout
    assert run.stamps[end - 1] - run.stamps[last] <= timeout
    assert all(fid in run.live[k] for k in range(seen[0], end))
    assert all(not live for live in run.live[end:])

    # Any interval it had open is closed when the track ends, never after, and ends where it was seen.
    evs = check_events(run).get(fid, [])
    assert all(k <= end for k, _ in evs)
    assert all(ev.offset <= last for _, ev in evs if ev.status == "ended")
    assert not run.final_events


def test_face_enters_id_appears_when_the_face_does(run_clip, engine_model):
    run = run_clip(FACE_ENTERS_CLIP, engine_model)
    (fid,) = run.all_ids()
    seen = run.frames_with(fid)
    assert abs(seen[0] - ENTERS_FIRST_FACE) <= SLACK, f"first seen at {seen[0]}, really at {ENTERS_FIRST_FACE}"
    assert abs(seen[-1] - ENTERS_LAST_FACE) <= SLACK
    assert len(seen) >= 0.95 * (ENTERS_LAST_FACE - ENTERS_FIRST_FACE + 1)
    assert all(not live for live in run.live[: seen[0]])
    assert fid in run.live[-1]  # unseen for less than lost_timeout at the end of the clip
    by_id = check_events(run)  # close() at the end of the stream closed every open interval
    assert all(k <= len(run.results) for k, _ in by_id.get(fid, []))


def test_five_face_photo_five_distinct_non_overlapping_faces(engine_model):
    photo = cv2.imread(str(media_path(MULTI_FACE_PHOTO)))
    engine = Engine(EngineConfig(model=engine_model))
    try:
        result = engine.process(photo)
        assert result.error is None
        assert len(result.faces) == 5
        assert len({f.id for f in result.faces}) == 5
        boxes = np.stack([f.box for f in result.faces])
        iou = box_iou(boxes, boxes)
        assert np.all(iou[~np.eye(5, dtype=bool)] == 0), iou
        h, w = photo.shape[:2]
        assert np.all(boxes[:, 0] > -5) and np.all(boxes[:, 0] + boxes[:, 2] < w + 5)
        assert np.all(boxes[:, 1] > -5) and np.all(boxes[:, 1] + boxes[:, 3] < h + 5)
        # The same photo again: the same five ids (boxes match themselves).
        again = engine.process(photo)
        assert sorted(f.id for f in again.faces) == sorted(f.id for f in result.faces)
    finally:
        engine.close()


def test_max_faces_caps_the_faces_per_frame():
    photo = cv2.imread(str(media_path(MULTI_FACE_PHOTO)))
    with Engine(EngineConfig(model="baseline", max_faces=3)) as engine:
        assert len(engine.process(photo).faces) == 3


def test_face_back_within_lost_timeout_keeps_id_and_later_gets_new_one(clip_frames, run_frames, engine_model):
    frames = clip_frames(SHORT_FACE_CLIP)[0]
    short_gap, long_gap = 15, 45  # 0.5 s and 1.5 s at 30 frames/s, lost_timeout 1 s
    seq = (
        frames[:24]
        + [blank_like(frames[0])] * short_gap
        + frames[24:48]
        + [blank_like(frames[0])] * long_gap
        + frames[48:]
    )
    stamps = [k / 30.0 for k in range(len(seq))]
    seg2 = 24 + short_gap
    seg3 = seg2 + 24 + long_gap
    run = run_frames(seq, stamps, EngineConfig(model=engine_model, lost_timeout=1.0))

    ids1 = {i for k in range(24) for i in run.ids(k)}
    ids2 = {i for k in range(seg2, seg2 + 24) for i in run.ids(k)}
    ids3 = {i for k in range(seg3, len(seq)) for i in run.ids(k)}
    assert len(ids1) == 1 and ids1 == ids2, (ids1, ids2)
    assert len(ids3) == 1 and ids3 != ids1, (ids1, ids3)
    assert all(not run.ids(k) for k in range(24, seg2)), "no face in the blank frames"
    assert run.ids(seg2) and run.ids(seg3), "the face is found again on its first frame back"

    (old,) = ids1
    last = max(run.frames_with(old))
    assert last == seg2 + 23
    end = next(k for k in range(last + 1, len(seq)) if old not in run.live[k])
    assert run.stamps[end] - run.stamps[last] > 1.0 >= run.stamps[end - 1] - run.stamps[last]
    assert end < seg3
    evs = check_events(run).get(old, [])
    assert all(k <= end and (ev.status != "ended" or ev.offset <= last) for k, ev in evs)
    check_face_results(run)


def test_faces_ended_by_a_stamp_jump_on_a_bad_frame_free_their_tracking_graphs(clip_frames):
    """A looping bag whose first frame back is unreadable: the faces it ends give back their
    MediaPipe graphs (the soak found one graph, models and threads, kept per such event)."""
    frames = clip_frames(SHORT_FACE_CLIP)[0][:20]
    with Engine(EngineConfig(model="baseline")) as engine:
        for k, f in enumerate(frames[:10]):
            engine.process(f, 100 + k / 30)
        assert engine.tracked_ids and engine._front.live_graphs == 1  # the face is followed
        bad = engine.process(np.zeros((1, 1, 3), np.uint8), 1.0)  # stamp back, and no image
        assert bad.error and [ev.end_reason for ev in bad.events if ev.status == "ended"] in ([], ["time jump"])
        assert not engine.tracked_ids and engine._front.live_graphs == 0
        for k, f in enumerate(frames[10:]):
            engine.process(f, 2 + k / 30)
        assert engine._front.live_graphs == 1


def test_stamps_going_backwards_reset_tracks_with_a_warning(clip_frames, run_frames, engine_model, caplog):
    frames = clip_frames(SHORT_FACE_CLIP)[0]
    jump = 40
    stamps = [k / 30.0 for k in range(jump)] + [(k - jump) / 30.0 for k in range(jump, len(frames))]
    with caplog.at_level(logging.WARNING, logger="fer_ros.engine.engine"):
        run = run_frames(frames, stamps, EngineConfig(model=engine_model))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "backwards" in r.getMessage()]
    assert len(warnings) == 1
    before = {i for k in range(jump) for i in run.ids(k)}
    after = {i for k in range(jump, len(frames)) for i in run.ids(k)}
    assert len(before) == 1 and len(after) == 1 and before != after
    assert run.live[jump] == after
    assert run.results[jump].faces, "the frame with the jump is processed, not dropped"
    assert all(r.error is None for r in run.results)
    (old,) = before
    evs = check_events(run).get(old, [])
    assert all(k <= jump for k, _ in evs), "the old id's open interval is closed at the jump"


@pytest.mark.parametrize("clip", [SINGLE_FACE_CLIP, DEFAULT_INPUT])
def test_following_landmarks_agrees_with_detecting_on_every_frame(run_clip, engine_model, clip):
    """The default (detectors at most every detect_every frames, faces followed from their landmarks
    in between) finds the face as often as detection on every frame, boxes on the same face and
    the same label on at least 98% of the frames of the real sample clips."""
    every = run_clip(clip, engine_model, detect_every=1)
    follow = run_clip(clip, engine_model)
    n = len(every.results)
    assert len(follow.results) == n and len(follow.all_ids()) == 1
    found_every = sum(bool(r.faces) for r in every.results)
    found_follow = sum(bool(r.faces) for r in follow.results)
    assert found_follow >= 0.95 * n and abs(found_follow - found_every) <= 0.02 * n
    both = [(a.faces[0], b.faces[0]) for a, b in zip(every.results, follow.results) if a.faces and b.faces]
    ious = [box_iou(a.box, b.box)[0, 0] for a, b in both]
    assert np.median(ious) > 0.85 and min(ious) > 0.5
    same = sum(a.label == b.label for a, b in both)
    assert same >= 0.98 * len(both), f"labels agree on {same} of {len(both)} frames"
    check_face_results(follow)
    check_events(follow)


def test_a_face_entering_beside_a_followed_one_is_found_within_detect_every_frames(clip_frames, run_frames):
    """The stated bound, on real footage: while one face is followed (the detector on its longest
    interval), a second face entering the view is found at most detect_every frames after
    detection on every frame finds it. Left: the single-face clip (a face all along); right: the
    clip where a face enters at frame 96."""
    left, _ = clip_frames(SINGLE_FACE_CLIP)
    right, stamps = clip_frames(FACE_ENTERS_CLIP)
    n = min(len(right), ENTERS_FIRST_FACE + 60)
    frames = [
        np.hstack([cv2.resize(left[k % len(left)], (320, 360)), cv2.resize(right[k], (320, 360))]) for k in range(n)
    ]

    def first_two(every: int) -> int:
        run = run_frames(frames, stamps[:n], EngineConfig(model="baseline", detect_every=every))
        assert all(len(r.faces) == 1 for r in run.results[: ENTERS_FIRST_FACE - SLACK])
        return next(k for k, r in enumerate(run.results) if len(r.faces) == 2)

    reference = first_two(1)
    assert ENTERS_FIRST_FACE - SLACK <= reference < n
    for every in (10, 25):
        found = first_two(every)
        assert reference <= found <= reference + every, (every, found, reference)


def test_the_detector_runs_rarely_while_a_face_is_followed(clip_frames):
    frames, stamps = clip_frames(SINGLE_FACE_CLIP)
    with Engine(EngineConfig(model="baseline", detect_every=10)) as engine:
        for f, s in zip(frames, stamps):
            engine.process(f, s)
        runs = engine.detection_runs
    assert runs <= len(frames) / 10 + 5, f"{runs} detections over {len(frames)} frames"


def test_recurrent_engine_runs_on_a_real_clip_with_any_model_file(clip_frames, run_frames, untrained_weights):
    frames, stamps = clip_frames(SHORT_FACE_CLIP)
    run = run_frames(frames, stamps, EngineConfig(model="recurrent", weights=str(untrained_weights)))
    assert len(run.all_ids()) == 1
    assert check_face_results(run) >= 0.95 * len(frames)
    check_events(run)


@pytest.mark.parametrize(
    "options, name",
    [
        ({"model": "lstm"}, "model"),
        ({"max_faces": 0}, "max_faces"),
        ({"max_faces": 2.5}, "max_faces"),  # would crash slicing the face list
        ({"detect_every": float("nan")}, "detect_every"),
        ({"max_side": -1}, "max_side"),
        ({"cpu_threads": 0}, "cpu_threads"),
        ({"min_detection_confidence": 1.0}, "min_detection_confidence"),
        ({"lost_timeout": -0.5}, "lost_timeout"),
        ({"lost_timeout": float("nan")}, "lost_timeout"),  # would never end a track
        ({"iou_threshold": 0.0}, "iou_threshold"),
        ({"default_fps": 0.0}, "default_fps"),
        ({"default_fps": float("nan")}, "default_fps"),
        ({"runtime": "tensorrt"}, "runtime"),
    ],
)
def test_bad_engine_config_raises_naming_the_field(options, name):
    with pytest.raises(ValueError, match=name):
        Engine(EngineConfig(**{"model": "baseline", **options}))


# ------------------------------------------------------------------ recurrent predictor


@pytest.fixture(scope="module")
def untrained_weights(tmp_path_factory):
    """A freshly initialised model file: exercises the predictor's mechanics without training."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "untrained.safetensors"
    shipped = load_backbone()
    model = ExpressionModel(ModelConfig(geometry_dim=GEOMETRY_DIM, backbone=shipped.cfg.to_dict())).eval()
    model.cnn.load_state_dict(shipped.state_dict())  # real features from the shipped CNN
    save_model(model, path)
    return path


@pytest.fixture(params=["untrained", "trained"])
def recurrent_weights(request, untrained_weights):
    return untrained_weights if request.param == "untrained" else DEFAULT_MODEL


@pytest.fixture(scope="module")
def mosaic_features(clip_frames):
    """Real per-face features over 8 frames of a 2x2 mosaic of the short clip (4 faces per frame).

    Returns appearance (T, 4, A) and geometry (T, 4, G), faces in tile order.
    """
    frames = clip_frames(SHORT_FACE_CLIP)[0]
    encoder = AppearanceEncoder("cpu")
    neutrals = [RunningNeutral() for _ in range(4)]
    appearance, geometry = [], []
    with contextlib.closing(FrontEnd(encoder.crop_size, encoder.equalize)) as front:
        for t in range(8):
            tiles = [cv2.resize(frames[t + 15 * k], (320, 180), interpolation=cv2.INTER_AREA) for k in range(4)]
            mosaic = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
            faces = front.faces(cv2.cvtColor(mosaic, cv2.COLOR_BGR2RGB))
            assert len(faces) == 4, f"mosaic frame {t}: {len(faces)} faces"
            tile = [int(f.box[0] + f.box[2] / 2 >= 320) + 2 * int(f.box[1] + f.box[3] / 2 >= 180) for f in faces]
            assert sorted(tile) == [0, 1, 2, 3]
            faces = [faces[tile.index(k)] for k in range(4)]
            crops = front.crops(to_gray(mosaic), faces)
            batched = encoder(crops)
            single = torch.cat([encoder(crops[k : k + 1]) for k in range(4)])
            torch.testing.assert_close(batched, single, atol=1e-4, rtol=1e-4)  # the CNN batches too
            appearance.append(batched)
            geometry.append(np.stack([geometry_of(f, n) for f, n in zip(faces, neutrals)]))
    return torch.stack(appearance), np.stack(geometry)


def _capacity(pred: RecurrentPredictor) -> int:
    return pred.pool.tensors[0].shape[1]


def test_batched_step_equals_each_face_stepped_alone(recurrent_weights, mosaic_features):
    appearance, geometry = mosaic_features
    batched, single = RecurrentPredictor(recurrent_weights), RecurrentPredictor(recurrent_weights)
    ids = [11, 22, 33, 44]
    rng = np.random.default_rng(0)
    for t in range(len(appearance)):
        order = rng.permutation(4)  # faces come in any order; rows must follow the ids
        together = batched([ids[k] for k in order], appearance[t, order], geometry[t, order])
        for j, k in enumerate(order):
            alone = single([ids[k]], appearance[t, k : k + 1], geometry[t, k : k + 1])
            np.testing.assert_allclose(together.probs[j], alone.probs[0], atol=1e-5)
            np.testing.assert_allclose(together.intensity[j], alone.intensity[0], atol=1e-5)
            np.testing.assert_allclose(together.activity[j], alone.activity[0], atol=1e-5)
        assert together.probs.sum(1) == pytest.approx(np.ones(4), abs=1e-5)
    # The state matters: the same input after 8 frames differs from a fresh face's first step.
    fresh = RecurrentPredictor(recurrent_weights)([1], appearance[-1, :1], geometry[-1, :1])
    late = single([ids[0]], appearance[-1, :1], geometry[-1, :1])
    assert not np.allclose(fresh.activity, late.activity, atol=1e-7) or not np.allclose(
        fresh.probs, late.probs, atol=1e-7
    )


needs_ort = pytest.mark.skipif(not onnxruntime_available(), reason="onnx / onnxruntime not installed")


@pytest.mark.parametrize("runtime", ["torch", pytest.param("onnxruntime", marks=needs_ort)])
def test_state_pool_grows_past_capacity_and_recycles_rows(recurrent_weights, mosaic_features, runtime):
    appearance, geometry = mosaic_features
    pred = RecurrentPredictor(recurrent_weights, runtime=runtime)
    start = _capacity(pred)
    n = 2 * start + 5
    pick = np.arange(n) % 4
    app, geo = appearance[0, pick], geometry[0, pick]

    first_ids = list(range(1, n + 1))
    for _ in range(3):
        pred(first_ids, app, geo)
    assert _capacity(pred) >= n > start
    rows = [pred.pool.rows[i] for i in first_ids]
    assert len(set(rows)) == n

    for fid in first_ids:  # every face ends
        pred.drop(fid)
    assert not pred.pool.rows and len(pred.pool.free) == _capacity(pred)

    grown = _capacity(pred)
    new_ids = list(range(1000, 1000 + n))
    out = pred(new_ids, app, geo)
    assert _capacity(pred) == grown, "rows are recycled, the pool does not grow again"
    assert {pred.pool.rows[i] for i in new_ids} <= set(range(grown))
    # A recycled row starts from the zero state: same outputs as a brand new predictor.
    ref = RecurrentPredictor(recurrent_weights, runtime=runtime)(new_ids, app, geo)
    np.testing.assert_allclose(out.probs, ref.probs, atol=1e-5)
    np.testing.assert_allclose(out.activity, ref.activity, atol=1e-5)
    np.testing.assert_allclose(out.intensity, ref.intensity, atol=1e-5)


@needs_ort
def test_onnxruntime_step_computes_what_the_torch_step_and_the_batch_forward_do(recurrent_weights, mosaic_features):
    """The recurrent step through ONNX Runtime (numpy state pool) against PyTorch's step, frame by
    frame, over real features of 4 faces in shuffled order; one face ends after frame 3 and a new
    face takes its row. Each face's streamed outputs also equal the whole-sequence forward."""
    appearance, geometry = mosaic_features
    fast = RecurrentPredictor(recurrent_weights, runtime="onnxruntime")
    reference = RecurrentPredictor(recurrent_weights, runtime="torch")
    assert fast.runtime == "onnxruntime" and isinstance(fast.pool.tensors[0], np.ndarray)
    rng = np.random.default_rng(1)
    streamed: dict[int, list] = defaultdict(list)  # face id -> per frame (t, tile, probs, intensity, activity)
    for t in range(len(appearance)):
        if t == 4:  # face 22 ends; 55, a new face, comes in tile 1
            row = fast.pool.rows[22]
            fast.drop(22)
            reference.drop(22)
        ids = [11, 22, 33, 44] if t < 4 else [11, 55, 33, 44]
        order = rng.permutation(4)
        args = ([ids[k] for k in order], appearance[t, order], geometry[t, order])
        got, want = fast(*args), reference(*args)
        assert got.probs.dtype == np.float32 and got.intensity.shape == (4,)
        np.testing.assert_allclose(got.probs, want.probs, atol=1e-4, rtol=0)
        np.testing.assert_allclose(got.intensity, want.intensity, atol=1e-4, rtol=0)
        np.testing.assert_allclose(got.activity, want.activity, atol=1e-4, rtol=0)
        for j, k in enumerate(order):
            streamed[ids[k]].append((t, k, got.probs[j], got.intensity[j], got.activity[j]))
    assert fast.pool.rows[55] == row  # the ended face's row, recycled
    assert set(streamed) == {11, 22, 33, 44, 55} and len(streamed[22]) == len(streamed[55]) == 4
    for rows in streamed.values():
        frames, tile = [r[0] for r in rows], rows[0][1]
        out = reference.batch(appearance[frames, tile].numpy(), geometry[frames, tile])
        np.testing.assert_allclose(np.stack([r[2] for r in rows]), out["probs"], atol=1e-4, rtol=0)
        np.testing.assert_allclose(np.array([r[3] for r in rows]), out["intensity"], atol=1e-4, rtol=0)
        np.testing.assert_allclose(np.array([r[4] for r in rows]), out["activity"], atol=1e-4, rtol=0)


# ------------------------------------------------------------------ the model's own backbone


def test_engine_encodes_faces_with_the_backbone_stored_in_the_model(clip_frames, tmp_path):
    """A model file carries the backbone it was trained on: the recurrent engine (and a baseline
    given that file) encode faces with it, not with the shipped one."""
    torch.manual_seed(0)
    shipped = load_backbone()
    model = ExpressionModel(ModelConfig(geometry_dim=GEOMETRY_DIM, backbone=shipped.cfg.to_dict())).eval()
    with torch.no_grad():  # another backbone than the shipped one
        for mine, ref in zip(model.cnn.state_dict().values(), shipped.state_dict().values()):
            mine.copy_(ref * (1 + 0.2 * torch.randn_like(ref)) if ref.is_floating_point() else ref)
    path = tmp_path / "own_cnn.safetensors"
    save_model(model, path)
    frames = clip_frames(SHORT_FACE_CLIP)[0][:3]
    runs = {"recurrent": str(path), "baseline": str(path), "shipped": None}
    feats = {}
    for key, weights in runs.items():
        cfg = EngineConfig(model="recurrent" if key == "recurrent" else "baseline", weights=weights, device="cpu")
        with Engine(cfg, keep_features=True) as engine:
            results = [engine.process(bgr) for bgr in frames]
        feats[key] = results[-1].features
    crops = feats["recurrent"].crops
    assert crops.shape == (1, shipped.crop_size, shipped.crop_size) and crops.dtype == np.uint8
    with torch.no_grad():
        own = model.cnn.appearance(scale(torch.from_numpy(crops)).unsqueeze(1)).numpy()
        stock = shipped.appearance(scale(torch.from_numpy(crops)).unsqueeze(1)).numpy()
    np.testing.assert_allclose(feats["recurrent"].appearance, own, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(feats["baseline"].appearance, own, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(feats["shipped"].appearance, stock, atol=1e-4, rtol=1e-4)
    assert not np.allclose(own, stock, atol=1e-3)


# ------------------------------------------------------------------ several cameras, one batch


def test_a_group_batches_cameras_without_changing_what_they_compute(clip_frames, engine_model):
    """Two cameras through an EngineGroup (one CNN call and one recurrent step per round for both)
    give the results two lone engines give, ids unique across the cameras."""
    from fer_ros.engine import EngineGroup

    a, stamps = clip_frames(SHORT_FACE_CLIP)
    b = [np.ascontiguousarray(f[:, ::-1]) for f in a]  # the other camera: the clip mirrored
    n = 20
    cfg = EngineConfig(model=engine_model)
    with Engine(cfg) as one, Engine(cfg) as two:
        alone = [(one.process(a[k], stamps[k]), two.process(b[k], stamps[k])) for k in range(n)]
    with EngineGroup(cfg, streams=2) as group:
        calls = []
        encoder = group.models.encoder
        real = encoder.__call__
        group.models.encoder = lambda crops: calls.append(len(crops)) or real(crops)
        together = [group.process([(0, a[k], stamps[k]), (1, b[k], stamps[k])]) for k in range(n)]
    assert len(calls) == n and max(calls) == 2  # one CNN call a round, both cameras' faces in it
    ids = set()
    for (ra, rb), (ga, gb) in zip(alone, together):
        for r, g in ((ra, ga), (rb, gb)):
            assert len(r.faces) == len(g.faces) == 1
            np.testing.assert_allclose(r.faces[0].scores, g.faces[0].scores, atol=1e-5)
            assert r.faces[0].label == g.faces[0].label and r.faces[0].phase == g.faces[0].phase
            assert abs(r.faces[0].intensity - g.faces[0].intensity) < 1e-5
        ids |= {ga.faces[0].id, gb.faces[0].id}
    assert len(ids) == 2  # one face per camera, ids unique across them


def test_front_stage_in_a_reader_thread_computes_what_process_does(clip_frames, run_clip, engine_model):
    """The video CLI's pipeline: Prefetch runs ``prepare`` (faces, crops) in its thread while this
    thread ``complete``s the previous frames. Same results and intervals as ``process``, also when
    the face leaves and its track ends mid-stream."""
    from fer_ros.io.sources import Frame, Prefetch

    frames, stamps = clip_frames(FACE_LEAVES_CLIP)
    serial = run_clip(FACE_LEAVES_CLIP, engine_model)
    source = (Frame(k, stamp, image, f"frame {k}") for k, (image, stamp) in enumerate(zip(frames, stamps)))
    with Engine(EngineConfig(model=engine_model)) as engine:
        with Prefetch(source, prepare=lambda f: engine.prepare(f.image, f.stamp)) as pipeline:
            piped = [engine.complete(prepared) for _, prepared in pipeline]
        left = engine.tracked_ids  # the face left the view: its track ended inside the pipeline
        final = engine.finish()
    assert not left and any(r.faces for r in piped)
    assert len(piped) == len(serial.results)
    for s, p in zip(serial.results, piped):
        assert [f.id for f in s.faces] == [f.id for f in p.faces]
        for fs, fp in zip(s.faces, p.faces):
            np.testing.assert_allclose(fs.scores, fp.scores, atol=1e-5)
            assert fs.phase == fp.phase
        assert [(e.status, e.face_id, e.onset, e.offset, e.end_reason) for e in s.events] == [
            (e.status, e.face_id, e.onset, e.offset, e.end_reason) for e in p.events
        ]
    assert len(final) == len(serial.final_events)


def test_runtime_auto_is_onnxruntime_on_cpu_when_installed_and_torch_on_cuda():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_runtime("auto", cpu) == ("onnxruntime" if onnxruntime_available() else "torch")
    assert resolve_runtime("auto", cuda) == "torch"
    assert resolve_runtime("torch", cpu) == "torch"
    with pytest.raises(ValueError, match="CPU"):
        resolve_runtime("onnxruntime", cuda)


@pytest.mark.skipif(not onnxruntime_available(), reason="onnx / onnxruntime not installed")
def test_onnxruntime_path_computes_what_the_torch_reference_does(clip_frames):
    """The faster CPU path (ONNX Runtime, the network exported in memory) against PyTorch: the
    same appearance vectors on real crops, batched and alone, and the same per-frame results."""
    frames, stamps = clip_frames(SHORT_FACE_CLIP)
    reference, fast = AppearanceEncoder("cpu", runtime="torch"), AppearanceEncoder("cpu", runtime="onnxruntime")
    assert fast.runtime == "onnxruntime"
    with contextlib.closing(FrontEnd(reference.crop_size, reference.equalize)) as front:
        crops = np.concatenate(
            [front.crops(to_gray(f), front.faces(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))) for f in frames[:40:5]]
        )
    assert len(crops) == 8
    want = reference(crops)
    torch.testing.assert_close(fast(crops), want, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast(crops[:1]), want[:1], atol=1e-4, rtol=1e-4)
    assert torch.equal(fast(crops)[:, -7:].argmax(1), want[:, -7:].argmax(1))

    runs = {}
    for runtime in ("torch", "onnxruntime"):
        with Engine(EngineConfig(model="recurrent", runtime=runtime)) as engine:
            runs[runtime] = [engine.process(f, s) for f, s in zip(frames[:30], stamps[:30])]
    for a, b in zip(runs["torch"], runs["onnxruntime"]):
        assert [f.label for f in a.faces] == [f.label for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            np.testing.assert_allclose(fa.scores, fb.scores, atol=1e-4)


def test_warm_up_leaves_the_engine_as_new(clip_frames, run_clip, engine_model):
    """The node warms each engine at configure (a blank frame, a blank face through both networks):
    afterwards the clip gives the ids, labels, scores and intervals of an engine never warmed."""
    frames, stamps = clip_frames(SHORT_FACE_CLIP)
    fresh = run_clip(SHORT_FACE_CLIP, engine_model)
    with Engine(EngineConfig(model=engine_model)) as engine:
        engine.warm_up()
        warmed = [engine.process(f, s) for f, s in zip(frames, stamps)]
    assert sum(bool(r.faces) for r in warmed) >= 0.9 * len(warmed)
    assert [[f.id for f in r.faces] for r in warmed] == [[f.id for f in r.faces] for r in fresh.results]
    for w, f in zip(warmed, fresh.results):
        for a, b in zip(w.faces, f.faces):
            np.testing.assert_allclose(a.scores, b.scores, atol=1e-5)
            assert (a.intensity, a.phase) == pytest.approx((b.intensity, b.phase), abs=1e-5)

    def key(e):  # stamps are nan while unknown
        return (e.status, e.face_id, e.label, e.onset, e.onset_stamp, str(e.offset_stamp), e.end_reason)

    assert [key(e) for r in warmed for e in r.events] == [key(e) for r in fresh.results for e in r.events]


def test_faces_meshed_side_by_side_get_the_landmarks_of_one_after_the_other(clip_frames):
    """track_all runs every followed face's graph at once (MediaPipe's threads, the solution
    wrapper's two halves); it must give what ``track`` gives face by face, frame after frame."""
    from fer_ros.cli.bench import scene
    from fer_ros.engine.landmarks import FaceLandmarker

    frames, _ = clip_frames(SINGLE_FACE_CLIP)
    tiles = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in scene(frames, 4, 12)]
    one, all_ = FaceLandmarker(8), FaceLandmarker(8)
    try:
        start = one.process(tiles[0])
        assert len(start) == 4
        boxes_one = boxes_all = {k: f.box for k, f in enumerate(start)}
        for rgb in tiles[1:]:
            a = [one.track(rgb, k, b) for k, b in boxes_one.items()]
            b = all_.track_all(rgb, boxes_all)
            assert all(f is not None for f in a) and all(f is not None for f in b)
            for fa, fb in zip(a, b):
                np.testing.assert_array_equal(fa.landmarks, fb.landmarks)
            boxes_one = {k: f.box for k, f in zip(boxes_one, a)}
            boxes_all = {k: f.box for k, f in zip(boxes_all, b)}
    finally:
        one.close()
        all_.close()


def test_a_released_graph_follows_the_next_face_as_a_new_graph_does(clip_frames):
    """A face that ends hands its tracking graph on, cleared with a blank crop (not restarted: a
    restart costs the next face 26 ms): the next face gets the landmarks a fresh graph gives."""
    from fer_ros.cli.bench import scene
    from fer_ros.engine.landmarks import FaceLandmarker

    frames, _ = clip_frames(SINGLE_FACE_CLIP)
    tiles = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in scene(frames, 2, 10)]
    used, fresh = FaceLandmarker(8), FaceLandmarker(8)
    try:
        first, second = sorted(used.process(tiles[0]), key=lambda f: f.box[0])
        box = first.box
        for rgb in tiles[1:5]:  # the left face, followed by graph 1
            box = used.track(rgb, 1, box).box
        handed_on = used._tracking[1]
        used.release(1)
        assert used.live_graphs == 0
        boxes = {"used": second.box, "fresh": second.box}
        for rgb in tiles[5:]:  # the right face: graph 2 is graph 1 handed on, against a new one
            a, b = used.track(rgb, 2, boxes["used"]), fresh.track(rgb, 2, boxes["fresh"])
            assert a is not None and b is not None
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            boxes = {"used": a.box, "fresh": b.box}
        assert used._tracking[2] is handed_on
    finally:
        used.close()
        fresh.close()


def test_two_cameras_pipelined_on_shared_networks_compute_what_lone_engines_do(clip_frames, engine_model):
    """The node's worker, offline: two engines share one Models; each turn prepares both cameras'
    next frames in threads while the networks run on both cameras' previous frames (one batch);
    some frames are skipped, as newest-frame-wins drops them. Each camera gets exactly what an
    engine of its own computes on the frames it was given."""
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    from fer_ros.engine import Models, run_models

    frames, _ = clip_frames(SHORT_FACE_CLIP)
    cams = {"left": frames[:45], "right": frames[15:60]}
    kept = [k for k in range(45) if k % 4 != 3]
    cfg = EngineConfig(model=engine_model)
    models, ids = Models(cfg), itertools.count(1)
    engines = {c: Engine(cfg, models=models, ids=ids) for c in cams}
    got: dict[str, list] = {c: [] for c in cams}
    with ThreadPoolExecutor(2) as fronts, ThreadPoolExecutor(1) as ahead:

        def prepare(k):
            return list(fronts.map(lambda c: engines[c].prepare(cams[c][k], k / 30), cams))

        in_flight = None
        for k in [*kept, None]:
            nxt = ahead.submit(prepare, k) if k is not None else None
            if in_flight is not None:
                for c, r in zip(cams, run_models(models, list(zip(engines.values(), in_flight)))):
                    got[c].append(r)
            in_flight = nxt.result() if nxt is not None else None
    for engine in engines.values():
        engine.close()
    for c, clip in cams.items():
        with Engine(cfg) as lone:
            ref = [lone.process(clip[k], k / 30) for k in kept]
        assert sum(bool(r.faces) for r in ref) >= 0.9 * len(ref)
        assert len({f.id for r in got[c] for f in r.faces}) == 1, "one face, one id"
        for a, b in zip(got[c], ref):
            assert [f.label for f in a.faces] == [f.label for f in b.faces]
            for fa, fb in zip(a.faces, b.faces):
                np.testing.assert_allclose(fa.scores, fb.scores, atol=1e-5)
                np.testing.assert_allclose(fa.box, fb.box, atol=1e-3)
        key = lambda e: (e.status, e.label, e.onset_stamp, e.end_reason)  # noqa: E731
        assert [key(e) for r in got[c] for e in r.events] == [key(e) for r in ref for e in r.events]


def test_engines_can_be_built_in_threads_at_once():
    """Each engine exports its networks for ONNX Runtime at start-up; torch's exporter keeps global
    state, so exports are serialised (runtime._EXPORTING): without that, two at once failed."""
    from concurrent.futures import ThreadPoolExecutor

    def build(_):
        with Engine(EngineConfig(model="recurrent")) as engine:
            return engine.model_name

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(build, range(3))) == ["recurrent"] * 3
