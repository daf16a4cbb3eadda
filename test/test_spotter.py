"""Online spotter on synthetic activity / intensity / score sequences with known phases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fer_ros.engine.engine import Engine, EngineConfig
from fer_ros.engine.spotter import Spotter, SpotterConfig
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL

FPS = 10.0


def scores(**probs) -> np.ndarray:
    """A score vector from class=probability pairs; the rest goes to neutral."""
    s = np.zeros(len(CLASS_NAMES))
    for name, p in probs.items():
        s[CLASS_NAMES.index(name)] = p
    s[NEUTRAL] += 1.0 - s.sum()
    return s


HAPPY = scores(happy=0.8)


def feed(spotter, activity, intensity=None, score_seq=None, start=0):
    """Feed frames start.. ; returns [(frame, event)] and the phase after each frame."""
    intensity = intensity if intensity is not None else [0.5] * len(activity)
    score_seq = score_seq if score_seq is not None else [HAPPY] * len(activity)
    events, phases = [], []
    for k, (a, i, s) in enumerate(zip(activity, intensity, score_seq), start):
        events += [(k, ev) for ev in spotter.update(k, k / FPS, a, i, s)]
        phases.append(spotter.phase)
    return events, phases


def statuses(events):
    return [(k, ev.status) for k, ev in events]


def test_onset_apex_offset_events_in_order():
    sp = Spotter(7)  # on 0.5, off 0.3, confirm 3, release 3, apex_drop 0.1
    activity = [0.1] * 5 + [0.9] * 10 + [0.05] * 6
    intensity = [0.0] * 5 + [0.2, 0.4, 0.6, 0.8, 1.0, 0.95, 0.85, 0.6, 0.4, 0.2] + [0.0] * 6
    events, phases = feed(sp, activity, intensity)

    # started on the 3rd confirming frame, apex once intensity fell 0.1 below its peak,
    # ended after 3 frames below off_threshold.
    assert statuses(events) == [(7, "started"), (11, "apex"), (17, "ended")]
    started, apex, ended = (ev for _, ev in events)
    assert all(ev.face_id == 7 for _, ev in events)
    assert started.onset == 5 and started.apex == -1 and started.offset == -1
    assert math.isnan(started.apex_stamp) and math.isnan(started.offset_stamp)
    assert apex.onset == 5 and apex.apex == 9 and apex.offset == -1  # peak intensity 1.0 at frame 9
    assert (ended.onset, ended.apex, ended.offset) == (5, 9, 14)  # offset = last active frame
    assert ended.onset_stamp == pytest.approx(0.5) and ended.apex_stamp == pytest.approx(0.9)
    assert ended.offset_stamp == pytest.approx(1.4)
    assert ended.peak_intensity == pytest.approx(1.0)
    assert ended.label == "happy" and ended.confidence == pytest.approx(1.0)
    np.testing.assert_allclose(ended.scores, HAPPY, atol=1e-6)

    assert phases[:7] == ["neutral"] * 7
    assert phases[7] == "onset"
    assert phases[9] == "apex"  # at the peak
    assert phases[12] == "offset"  # well below the confirmed peak
    assert phases[15] == "offset" and phases[17:] == ["neutral"] * 4
    assert not sp.active


def test_onset_is_the_first_frame_of_the_confirming_run():
    sp = Spotter(1)
    activity = [0.9, 0.9, 0.2, 0.6, 0.9, 0.7, 0.9] + [0.0] * 3
    events, _ = feed(sp, activity)
    assert statuses(events)[0] == (5, "started")
    assert events[0][1].onset == 3  # the failed run at 0..1 does not count


def test_blip_shorter_than_confirm_frames_yields_nothing():
    sp = Spotter(1, SpotterConfig(confirm_frames=4))
    activity = [0.9, 0.9, 0.9, 0.1] * 5 + [0.0] * 5
    events, phases = feed(sp, activity, intensity=[1.0] * len(activity))
    assert events == []
    assert set(phases) == {"neutral"}
    assert sp.close() == []


def test_confirm_frames_one_starts_on_the_first_active_frame():
    sp = Spotter(1, SpotterConfig(confirm_frames=1))
    events, _ = feed(sp, [0.0, 0.8, 0.0, 0.0, 0.0])
    assert statuses(events) == [(1, "started"), (4, "apex"), (4, "ended")]
    assert (events[-1][1].onset, events[-1][1].apex, events[-1][1].offset) == (1, 1, 1)


def test_hysteresis_short_dip_does_not_split_an_interval():
    sp = Spotter(1)  # release_frames 3
    # dip below off_threshold for 2 frames, then hover between off and on thresholds
    activity = [0.9] * 4 + [0.1, 0.1] + [0.9] * 3 + [0.4] * 6 + [0.0] * 3
    events, phases = feed(sp, activity)
    assert [s for _, s in statuses(events)] == ["started", "apex", "ended"]
    ended = events[-1][1]
    assert ended.onset == 0 and ended.offset == 14  # last frame at 0.4 (>= off_threshold)
    assert phases[4] == phases[5] == "offset"  # in the dip, still open
    assert sp.phase == "neutral"


def test_dip_of_release_frames_splits_into_two_intervals():
    sp = Spotter(1)
    activity = [0.9] * 4 + [0.1] * 3 + [0.9] * 4 + [0.0] * 3
    events, _ = feed(sp, activity)
    assert [s for _, s in statuses(events)] == ["started", "apex", "ended"] * 2
    first, second = events[2][1], events[5][1]
    assert (first.onset, first.offset) == (0, 3)
    assert (second.onset, second.offset) == (7, 10)
    assert events[2][0] == 6  # ended on the 3rd frame below off_threshold


def test_apex_without_a_drop_comes_just_before_ended_at_the_peak():
    sp = Spotter(1)
    activity = [0.9] * 6 + [0.0] * 3
    intensity = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0, 0.0]  # still rising when it ends
    events, _ = feed(sp, activity, intensity)
    assert statuses(events) == [(2, "started"), (8, "apex"), (8, "ended")]
    assert events[1][1].apex == events[2][1].apex == 5


def test_close_mid_expression_before_apex_gives_apex_then_ended():
    sp = Spotter(3)
    activity = [0.0, 0.9, 0.9, 0.9, 0.9, 0.9]
    intensity = [0.0, 0.3, 0.5, 0.7, 0.8, 0.75]  # peak at 4, not yet dropped by apex_drop
    events, _ = feed(sp, activity, intensity)
    assert [s for _, s in statuses(events)] == ["started"]
    closing = sp.close()
    assert [ev.status for ev in closing] == ["apex", "ended"]
    assert closing[0].apex == closing[1].apex == 4
    assert (closing[1].onset, closing[1].offset) == (1, 5)
    assert closing[1].offset_stamp == pytest.approx(0.5)
    assert not sp.active and sp.phase == "neutral"
    assert sp.close() == []


def test_close_after_apex_gives_only_ended_and_offset_is_last_active_frame():
    sp = Spotter(3)
    activity = [0.9] * 6 + [0.1, 0.1]  # face lost during a dip: last active frame is 5
    intensity = [0.2, 0.6, 1.0, 0.8, 0.6, 0.5, 0.1, 0.1]
    events, _ = feed(sp, activity, intensity)
    assert [s for _, s in statuses(events)] == ["started", "apex"]
    closing = sp.close()
    assert [ev.status for ev in closing] == ["ended"]
    assert (closing[0].onset, closing[0].apex, closing[0].offset) == (0, 2, 5)


def test_close_during_an_unconfirmed_run_gives_nothing():
    sp = Spotter(3)
    feed(sp, [0.9, 0.9])
    assert sp.close() == []
    events, _ = feed(sp, [0.9], start=2)  # the run was discarded: one frame does not confirm
    assert events == []


def test_label_is_the_class_with_the_most_non_neutral_evidence():
    sp = Spotter(1)
    # Neutral is the top score in every frame, happy the strongest expression.
    weak_happy = scores(happy=0.3, sad=0.2)
    events, _ = feed(sp, [0.9] * 5 + [0.0] * 3, score_seq=[weak_happy] * 8)
    assert events[-1][1].label == "happy"
    assert events[-1][1].confidence == pytest.approx(0.6)  # 0.3 / (0.3 + 0.2)


def test_started_carries_the_onset_label_and_ended_the_whole_interval():
    sp = Spotter(1)
    surprise, happy = scores(surprise=0.9), scores(happy=0.6, sad=0.1)
    seq = [surprise] * 3 + [happy] * 7 + [scores()] * 3
    events, _ = feed(sp, [0.9] * 10 + [0.0] * 3, score_seq=seq)
    started, _, ended = (ev for _, ev in events)
    assert started.label == "surprise"
    # evidence: surprise 3 x 1.0 = 3.0; happy 7 x 6/7 = 6.0; sad 7 x 1/7 = 1.0
    assert ended.label == "happy"
    assert ended.confidence == pytest.approx(6.0 / 10)
    np.testing.assert_allclose(ended.scores, (3 * surprise + 7 * happy) / 10, atol=1e-6)


@pytest.mark.parametrize(
    "options, name",
    [
        ({"on_threshold": 1.5}, "on_threshold"),
        ({"on_threshold": float("nan")}, "on_threshold"),
        ({"off_threshold": -0.1}, "off_threshold"),
        ({"off_threshold": 0.6, "on_threshold": 0.5}, "off_threshold"),
        ({"confirm_frames": 0}, "confirm_frames"),
        ({"confirm_frames": float("nan")}, "confirm_frames"),
        ({"confirm_frames": 2.5}, "confirm_frames"),
        ({"release_frames": 0}, "release_frames"),
        ({"release_frames": float("nan")}, "release_frames"),  # would never end an interval
        ({"apex_drop": 0.0}, "apex_drop"),
        ({"apex_drop": 1.0}, "apex_drop"),
    ],
)
def test_bad_spotter_config_raises_naming_the_field(options, name):
    cfg = SpotterConfig(**options)
    with pytest.raises(ValueError, match=name):
        cfg.validate()
    with pytest.raises(ValueError, match=name):  # refused before any model is loaded
        Engine(EngineConfig(model="baseline", spotter=cfg))
    with pytest.raises(ValueError, match=name):  # and from ROS-style parameters
        EngineConfig.from_params({"model": "baseline", **{f"spotter.{k}": v for k, v in options.items()}})


def test_good_spotter_config_validates():
    SpotterConfig().validate()
    SpotterConfig(on_threshold=0.5, off_threshold=0.5, confirm_frames=1, release_frames=1).validate()


def test_a_second_rise_after_the_apex_does_not_move_the_published_apex():
    sp = Spotter(1, SpotterConfig(confirm_frames=2, release_frames=2, apex_drop=0.1))
    scores = np.array([0.1, 0, 0, 0, 0.9, 0, 0])
    intensity = [0.6, 0.8, 0.5, 0.5, 0.95, 0.9, 0.0, 0.0]
    events = []
    for t, it in enumerate(intensity):
        events += sp.update(t, t / 30, 1.0 if it > 0 else 0.0, it, scores)
    apex = [e for e in events if e.status == "apex"]
    ended = [e for e in events if e.status == "ended"]
    assert len(apex) == 1 and len(ended) == 1
    assert apex[0].apex == ended[0].apex == 1
    assert ended[0].peak_intensity == apex[0].peak_intensity


# ------------------------------------------------------------------ class change, end reasons


def test_a_sustained_change_of_class_splits_the_interval():
    """Crying into laughter without rest: two intervals, the second starting where laughter took over."""
    sad, happy = scores(sad=0.7), scores(happy=0.7)
    seq = [sad] * 30 + [happy] * 30
    events, _ = feed(Spotter(1, SpotterConfig(switch_frames=12)), [0.9] * 60, [0.6] * 60, seq)
    ended = [ev for _, ev in events if ev.status == "ended"]
    started = [ev for _, ev in events if ev.status == "started"]
    assert [ev.label for ev in started] == ["sad", "happy"]
    assert len(ended) == 1 and ended[0].label == "sad" and ended[0].end_reason == "class change"
    assert ended[0].onset == 0 and ended[0].offset == 29  # the last sad frame
    assert started[1].onset == 30  # the first frame of the run that took over
    at = {ev.status + ev.label: k for k, ev in events}
    assert at["startedhappy"] == 30 + 12 - 1  # known after switch_frames votes


def test_an_apex_reached_while_another_class_takes_over_is_sent_once():
    """The intensity falls past apex_drop during the run of the class that then splits the
    interval: one apex for the old interval (its own peak), then ended, then the new one."""
    sad, happy = scores(sad=0.7), scores(happy=0.7)
    seq = [sad] * 10 + [happy] * 20
    intensity = [0.2, 0.4, 0.6, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9] + [0.7] * 20
    events, _ = feed(Spotter(1, SpotterConfig(switch_frames=5)), [0.9] * 30, intensity, seq)
    assert [(ev.status, ev.label) for _, ev in events] == [
        ("started", "sad"),
        ("apex", "sad"),
        ("ended", "sad"),
        ("started", "happy"),
    ]
    apex, ended = events[1][1], events[2][1]
    assert apex.apex == ended.apex == 4 and ended.offset == 9 and ended.end_reason == "class change"


def test_flicker_and_short_runs_do_not_split():
    sad, happy = scores(sad=0.7), scores(happy=0.7)
    seq = [sad] * 20 + ([happy] * 5 + [sad] * 3) * 4 + [sad] * 10
    events, _ = feed(Spotter(1, SpotterConfig(switch_frames=12)), [0.9] * len(seq), [0.6] * len(seq), seq)
    assert [ev.label for _, ev in events if ev.status == "started"] == ["sad"]
    assert not [ev for _, ev in events if ev.status == "ended"]


def test_switch_frames_zero_keeps_one_interval():
    sad, happy = scores(sad=0.7), scores(happy=0.7)
    events, _ = feed(Spotter(1, SpotterConfig(switch_frames=0)), [0.9] * 60, [0.6] * 60, [sad] * 30 + [happy] * 30)
    assert len([ev for _, ev in events if ev.status == "started"]) == 1


def test_end_reasons_say_why():
    sp = Spotter(1, SpotterConfig())
    events, _ = feed(sp, [0.9] * 10 + [0.0] * 5)
    assert [ev.end_reason for _, ev in events if ev.status == "ended"] == ["offset"]
    feed(sp, [0.9] * 10, start=20)
    closed = sp.close("time jump")
    assert [ev.status for ev in closed] == ["apex", "ended"] and closed[-1].end_reason == "time jump"
    assert all(ev.end_reason == "" for ev in closed if ev.status != "ended")
    with pytest.raises(ValueError, match="switch_frames"):
        SpotterConfig(switch_frames=-1).validate()
