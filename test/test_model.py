"""MV-LSTM, ExpressionModel, losses: streaming == batch, padding, save/load, export, training."""

import pytest
import torch

from fer_ros.learn.losses import (
    activity_loss,
    class_balanced_weights,
    dense_ce_loss,
    dense_labels,
    intensity_loss,
    phase_loss,
    spotting_loss,
    total_loss,
)
from fer_ros.model.backbone import BackboneConfig
from fer_ros.model.classes import CLASS_NAMES, NUM_CLASSES, PHASES
from fer_ros.model.expression import (
    ExpressionModel,
    ModelConfig,
    StepModule,
    load_model,
    save_model,
)
from fer_ros.model.mvlstm import MVLSTM, MVLSTMCell

G = 20
LENGTHS = torch.tensor([7, 3, 5])
T = int(LENGTHS.max())


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


SMALL_CNN = BackboneConfig(widths=(4, 8), hidden=16, input_size=16).to_dict()
A = 16 + NUM_CLASSES  # appearance width: the small backbone's features ++ its logits


def small_model(**kw):
    cfg = ModelConfig(geometry_dim=G, backbone=SMALL_CNN, hidden=32, stream_dim=16, **kw)
    return ExpressionModel(cfg).eval()


def inputs(n=3, t=T):
    return torch.randn(n, t, A), torch.randn(n, t, G)


def run_steps(step, xs, state, n_steps):
    outs = []
    for t in range(n_steps):
        o, state = step(*(x[:, t] for x in xs), state)
        outs.append(o)
    return outs, state


# ---------------------------------------------------------------- MV-LSTM


@pytest.mark.parametrize("layers,mode_size", [(1, None), (2, 24)])
def test_mvlstm_steps_equal_forward_per_sequence(layers, mode_size):
    rnn = MVLSTM(10, 16, layers, mode_size)
    x = torch.randn(3, T, 10)
    out, (h, c, m) = rnn(x, LENGTHS)
    for n, L in enumerate(LENGTHS.tolist()):  # each sequence alone, one step at a time
        state = rnn.init_state(1)
        for t in range(L):
            o, state = rnn.step(x[n : n + 1, t], state)
            torch.testing.assert_close(o[0], out[n, t], atol=1e-6, rtol=0)
        for a, b in zip(state, (h, c, m)):
            torch.testing.assert_close(a[:, 0], b[:, n], atol=1e-6, rtol=0)
        assert out[n, L:].abs().max() == 0 if L < T else True


def test_cell_state_shapes():
    cell = MVLSTMCell(5, 8, mode_size=6)
    h, (h2, c, m) = cell(torch.randn(4, 5))
    assert h.shape == c.shape == (4, 8) and m.shape == (4, 6) and h is h2


def test_padded_state_frozen_after_length():
    rnn = MVLSTM(10, 16, 2)
    x = torch.randn(3, T, 10)
    _, final = rnn(x, LENGTHS)
    x2 = x.clone()
    x2[1, 3:] = 1e3  # garbage in the padding of sequence 1 (length 3)
    _, final2 = rnn(x2, LENGTHS)
    for a, b in zip(final, final2):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    # ... and equals running the unpadded prefix
    _, ref = rnn(x[1:2, :3])
    for a, b in zip(final, ref):
        torch.testing.assert_close(a[:, 1], b[:, 0], atol=1e-6, rtol=0)


def test_mode_state_receives_input_and_gradients():
    rnn = MVLSTM(10, 16)
    cell = rnn.cells[0]
    out, (_, _, m) = rnn(torch.randn(4, 6, 10))
    assert m.abs().mean() > 1e-3
    out[:, -1].sum().backward()
    H = cell.hidden_size
    gw = cell.gates.weight.grad
    mode_rows = gw[5 * H : 5 * H + 2 * cell.mode_size]  # i^m, f^m
    split_rows = gw[4 * H : 5 * H]  # s
    assert mode_rows.abs().sum() > 0 and split_rows.abs().sum() > 0


# ---------------------------------------------------------------- model


@pytest.mark.parametrize(
    "gate,smooth,first", [(False, "", True), (True, "", True), (False, "rate", True), (False, "gate", False)]
)
def test_model_steps_equal_forward(gate, smooth, first):
    kw = dict(head_logit_bound=2.0, expressive_rest_bound=0.5) if gate else {}
    model = small_model(logit_smoothing=bool(smooth), smoothing_gate=smooth == "gate", refine_first_frame=first, **kw)
    with torch.no_grad():  # rates that differ per class (and per frame), not the initial 0.5 for all
        if smooth == "rate":
            model.smoothing_rate.normal_(0, 1.0)
        elif smooth == "gate":
            model.smoothing_gate.weight.normal_(0, 1.0)
    if gate:
        with torch.no_grad():  # the zero-initialised class rows would hide the bound
            model.heads.weight.normal_(0, 3.0)
    app, geo = inputs()
    with torch.no_grad():
        full = model(app, geo, LENGTHS)
        for n, L in enumerate(LENGTHS.tolist()):
            outs, _ = run_steps(model.step, (app[n : n + 1], geo[n : n + 1]), model.init_state(1), L)
            for t, o in enumerate(outs):
                for k in ("logits", "intensity", "activity", "phase_logits"):
                    # (scaled-up head weights in the gate case: larger values, same relative error)
                    torch.testing.assert_close(o[k][0], full[k][n, t], atol=1e-5 if gate else 1e-6, rtol=0)
        # batched streaming of equal-length sequences too
        outs, _ = run_steps(model.step, (app, geo), model.init_state(3), T)
        full = model(app, geo)
        for t, o in enumerate(outs):
            torch.testing.assert_close(o["logits"], full["logits"][:, t], atol=1e-5 if gate else 1e-6, rtol=0)


def test_model_output_shapes_and_ranges():
    model = small_model()
    out = model(*inputs())
    assert out["logits"].shape == (3, T, len(CLASS_NAMES))
    assert out["phase_logits"].shape == (3, T, len(PHASES))
    for k in ("intensity", "activity"):
        assert out[k].shape == (3, T) and out[k].min() >= 0 and out[k].max() <= 1


def test_stream_dropout_zeroes_whole_streams():
    model = small_model(stream_dropout=0.5, dropout=0.0).train()
    app, geo = inputs(64, 4)
    x = model._streams(app, geo)[0]
    a_off = (x[..., :16] == 0).all(-1).all(-1)
    g_off = (x[..., 16:] == 0).all(-1).all(-1)
    assert a_off.any() and g_off.any() and not (a_off & g_off).any()


def test_class_logits_stay_within_the_bound_of_the_cnn():
    """The recurrent head refines the CNN's logits by at most head_logit_bound, whatever it learned."""
    model = small_model(head_logit_bound=1.5, expressive_rest_bound=0.0)
    with torch.no_grad():
        model.heads.weight.normal_(0, 10.0)
        model.heads.bias.normal_(0, 10.0)
        app, geo = inputs()
        out = model(app, geo)
    shift = out["logits"] - app[..., -NUM_CLASSES:]
    assert shift.abs().max() <= 1.5 + 1e-5 and shift.abs().max() > 1.0


@pytest.mark.parametrize("gated", [False, True])
def test_logit_smoothing_keeps_a_held_face_and_steadies_a_jittering_one(gated):
    """With logit_smoothing the head refines a leaky average of the CNN logits: a face whose
    reading does not change gets exactly the frame's logits as its base; one whose reading
    flickers gets a steadier base; and the rate (or its gate) learns."""
    plain, smooth = small_model(), small_model(logit_smoothing=True, smoothing_gate=gated)
    rate = smooth.smoothing_gate if gated else smooth
    extra = {k: v for k, v in smooth.state_dict().items() if k.startswith("smoothing")}
    smooth.load_state_dict({**plain.state_dict(), **extra})
    app, geo = inputs(2, 8)
    app[0, :, -NUM_CLASSES:] = app[0, :1, -NUM_CLASSES:]  # face 0 held: the same CNN reading throughout
    app[1, :, -NUM_CLASSES:] = 0
    app[1, ::2, -NUM_CLASSES + 4] = 2.0  # face 1: the reading flickers between happy and sad
    app[1, 1::2, -NUM_CLASSES + 5] = 2.0
    with torch.no_grad():
        a, b = plain(app, geo)["logits"], smooth(app, geo)["logits"]
    torch.testing.assert_close(a[0], b[0], atol=1e-6, rtol=0)
    swing = lambda x: (x[1, 2:, 4] - x[1, 2:, 5]).abs().mean()  # noqa: E731
    assert swing(b) < 0.5 * swing(a)
    smooth.train()
    smooth(app, geo)["logits"][1].pow(2).sum().backward()
    assert (rate.weight if gated else rate.smoothing_rate).grad.abs().sum() > 0


def test_first_frame_gets_the_cnn_answer_unless_refine_first_frame():
    """refine_first_frame=False: a face's first frame (a still) returns the CNN's logits exactly,
    in a batch and in streaming; from its second frame on the head refines them."""
    model = small_model(refine_first_frame=False)
    with torch.no_grad():
        model.heads.weight.normal_(0, 3.0)
        model.heads.bias.normal_(0, 3.0)
        app, geo = inputs(2, 4)
        out = model(app, geo)
        shift = out["logits"] - app[..., -NUM_CLASSES:]
        assert shift[:, 0].abs().max() == 0 and shift[:, 1:].abs().min(-1).values.min() > 0
        first, state = model.step(app[:, 0], geo[:, 0])
        torch.testing.assert_close(first["logits"], app[:, 0, -NUM_CLASSES:])
        second, _ = model.step(app[:, 1], geo[:, 1], state)
        torch.testing.assert_close(second["logits"], out["logits"][:, 1], atol=1e-5, rtol=0)
    with torch.no_grad():
        refined = small_model(refine_first_frame=True)
        refined.load_state_dict(model.state_dict())
        assert (refined(app, geo)["logits"][:, 0] - app[:, 0, -NUM_CLASSES:]).abs().max() > 0


def test_expressive_rest_bound_follows_the_first_frame():
    """A face whose first frame the CNN reads as neutral gets the full bound, one first seen
    mid-expression the small one, for the whole sequence and in streaming too."""
    model = small_model(head_logit_bound=3.0, expressive_rest_bound=0.5)
    with torch.no_grad():
        model.heads.weight.normal_(0, 5.0)
        model.heads.bias[:NUM_CLASSES].normal_(0, 5.0)
    app, geo = inputs(2, 6)
    app[..., -NUM_CLASSES:] = 0
    app[0, 0, -NUM_CLASSES + 0] = 5.0  # face 0: first frame neutral (CLASS_NAMES[0])
    app[1, 0, -NUM_CLASSES + 4] = 5.0  # face 1: first frame happy
    app[:, 1:, -NUM_CLASSES + 4] = 5.0  # both look happy afterwards: only the first frame differs
    with torch.no_grad():
        out = model(app, geo)
        shift = out["logits"] - app[..., -NUM_CLASSES:]
    assert shift[0].abs().max() > 1.0 and shift[0].abs().max() <= 3.0
    assert shift[1].abs().max() <= 0.5 + 1e-6
    state = model.init_state(2)
    for t in range(6):
        o, state = model.step(app[:, t], geo[:, t], state)
        torch.testing.assert_close(o["logits"], out["logits"][:, t], atol=1e-5, rtol=0)
    assert state[3][0, :, 0].tolist() == pytest.approx([2.0, 1.0], abs=0.05)  # 1 + P(neutral) of frame 0


def test_config_roundtrip():
    cfg = ModelConfig(geometry_dim=120, dropout=0.3)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ModelConfig.from_dict({"geometry_dim": 1, "bogus": 2})


def test_save_load_roundtrip(tmp_path):
    model = small_model(mode_size=8, appearance_features=True, geometry_shape=True)
    path = tmp_path / "m.safetensors"
    save_model(model, path, {"dataset": "toy", "epoch": 3})
    loaded = load_model(path)
    assert loaded.cfg == model.cfg and loaded.metadata == {"dataset": "toy", "epoch": 3}
    app, geo = inputs()
    with torch.no_grad():
        a, b = model(app, geo, LENGTHS), loaded(app, geo, LENGTHS)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0)
    for x, y in zip(model.cnn.state_dict().values(), loaded.cnn.state_dict().values()):  # the backbone travels
        torch.testing.assert_close(x, y, atol=0, rtol=0)


def test_load_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        load_model(missing)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all..")
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_model(bad)
    good = tmp_path / "good.safetensors"
    save_model(small_model(), good)
    trunc = tmp_path / "trunc.safetensors"
    trunc.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(ValueError, match="trunc.safetensors"):
        load_model(trunc)


# torch.jit is deprecated in torch 2.x but is still what the brief asks for.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_jit_trace_step():
    model = small_model(mode_size=8)
    wrapper = StepModule(model).eval()
    ex = wrapper.example_inputs(2)
    traced = torch.jit.trace(wrapper, ex)
    app, geo = inputs(2, 4)
    state = model.init_state(2)
    hcm = state
    with torch.no_grad():
        for t in range(4):
            ref, state = model.step(app[:, t], geo[:, t], state)
            out = traced(app[:, t], geo[:, t], *hcm)
            hcm = out[4:]
            torch.testing.assert_close(out[0], ref["logits"], atol=1e-6, rtol=0)
            torch.testing.assert_close(out[2], ref["activity"], atol=1e-6, rtol=0)
    # traced graph is not batch-size specific
    assert traced(*wrapper.example_inputs(5))[0].shape == (5, NUM_CLASSES)


def test_torch_export_step():
    wrapper = StepModule(small_model()).eval()
    ex = wrapper.example_inputs(2)
    prog = torch.export.export(wrapper, ex)
    torch.testing.assert_close(prog.module()(*ex)[0], wrapper(*ex)[0], atol=1e-6, rtol=0)


# ---------------------------------------------------------------- losses


def toy_targets(n=3, t=T, lengths=LENGTHS):
    mask = torch.arange(t)[None] < lengths[:, None]
    ramp = torch.linspace(0, 1, t)[None].expand(n, t).clone()
    phase = torch.where(ramp > 0.1, torch.ones_like(ramp, dtype=torch.long), 0)
    return {"label": torch.tensor([4, 1, 6])[:n], "intensity": ramp, "phase": phase, "mask": mask}


def perfect_outputs(tg):
    q = dense_labels(tg["label"], tg["intensity"])
    active = (tg["phase"] > 0).float()
    return {
        "logits": torch.log(q.clamp(min=1e-9)),
        "intensity": tg["intensity"].clone(),
        "activity_logits": (active * 2 - 1) * 30,
        "activity": active,
        "phase_logits": torch.nn.functional.one_hot(tg["phase"], 4).float() * 30,
    }


def test_loss_terms_finite_nonneg_and_lower_for_perfect():
    tg = toy_targets()
    rnd = small_model()(*inputs())
    perf = perfect_outputs(tg)
    for w in ({"dense_ce": 1}, {"intensity": 1}, {"activity": 1}, {"phase": 1}):
        lr, _ = total_loss(rnd, tg, w)
        lp, _ = total_loss(perf, tg, w)
        assert torch.isfinite(lr) and lr >= 0 and lp >= 0
        assert lp < 1e-4 < lr, w
    assert intensity_loss(perf["intensity"], tg["intensity"], tg["mask"], "l1") == 0
    s = spotting_loss(rnd["activity_logits"], rnd["phase_logits"], (tg["phase"] > 0).float(), tg["phase"], tg["mask"])
    assert torch.isfinite(s) and s > 0
    loss, terms = total_loss(rnd, tg)
    assert set(terms) == {"dense_ce", "intensity", "activity", "phase"} and loss.requires_grad


def test_dense_labels_neutral_at_zero_intensity():
    q = dense_labels(torch.tensor([4]), torch.tensor([[0.0, 0.5, 1.0]]))
    assert q[0, 0, 0] == 1 and q[0, 1, 0] == 0.5 and q[0, 1, 4] == 0.5 and q[0, 2, 4] == 1


def test_losses_ignore_padding():
    tg = toy_targets()
    out = small_model()(*inputs(), LENGTHS)
    out2 = {k: v.clone() for k, v in out.items()}
    tg2 = {k: v.clone() for k, v in tg.items()}
    pad = ~tg["mask"]
    for k in out2:
        out2[k][pad] = 7.0  # garbage predictions ...
    tg2["intensity"][pad] = 0.3  # ... and garbage targets in the padding
    tg2["phase"][pad] = 3
    a, ta = total_loss(out, tg)
    b, tb = total_loss(out2, tg2)
    torch.testing.assert_close(a, b)
    assert ta == pytest.approx(tb)


def test_phase_ignore_index_and_activity():
    logits = torch.randn(2, 4, 4)
    phase = torch.tensor([[0, 1, -1, -1], [2, 3, 3, -1]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    l1 = phase_loss(logits, phase, mask)
    logits2 = logits.clone()
    logits2[phase < 0] = 100.0
    assert torch.allclose(l1, phase_loss(logits2, phase, mask))
    assert activity_loss(torch.full((2, 4), -50.0), torch.zeros(2, 4), mask) < 1e-6


def test_class_balanced_weights():
    w = class_balanced_weights([1000, 10, 100, 0, 500, 50, 5], beta=0.999)
    assert torch.isfinite(w).all() and w.sum() == pytest.approx(7)
    assert w[1] > w[2] > w[0]  # rarer -> heavier
    assert torch.allclose(class_balanced_weights([5, 500], beta=0.0), torch.ones(2))
    tg = toy_targets()
    out = small_model()(*inputs())
    cw = torch.ones(NUM_CLASSES)
    base = dense_ce_loss(out["logits"], tg["label"], tg["intensity"], tg["mask"])
    same = dense_ce_loss(out["logits"], tg["label"], tg["intensity"], tg["mask"], cw * 3)
    torch.testing.assert_close(base, same)  # weighted mean: uniform scale is a no-op


# ---------------------------------------------------------------- training


def test_tiny_training_lowers_loss():
    """Class decided by the sign of a geometry feature that appears only mid-sequence."""
    n, t = 32, 12
    geo = torch.randn(n, t, G) * 0.1
    sign = torch.randint(0, 2, (n,))
    geo[:, 4:8, 0] += (sign * 2 - 1)[:, None].float()
    app = torch.randn(n, t, A) * 0.1
    lengths = torch.randint(9, t + 1, (n,))
    inten = ((torch.arange(t)[None].float() - 3) / 4).clamp(0, 1).expand(n, t).clone()
    tg = {
        "label": torch.where(sign == 1, 4, 5),
        "intensity": inten,
        "phase": torch.where(inten > 0, torch.where(inten < 1, 1, 2), 0),
        "mask": torch.arange(t)[None] < lengths[:, None],
    }
    # the signal is in the shape half of the geometry; a wide bound lets the head decide the class
    model = small_model(
        dropout=0.0, stream_dropout=0.0, geometry_shape=True, head_logit_bound=5.0, expressive_rest_bound=0.0
    ).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(100):
        loss, _ = total_loss(model(app, geo, lengths), tg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    model.eval()
    with torch.no_grad():
        out = model(app, geo, lengths)
        last, _ = total_loss(out, tg)
    assert last.item() < 0.3 * first
    # and the class is right on the last real frame
    pred = out["logits"][torch.arange(n), lengths - 1].argmax(-1)
    assert (pred == tg["label"]).float().mean() > 0.9
