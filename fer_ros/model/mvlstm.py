r"""Mode-variational LSTM (MV-LSTM), after Baddar & Ro, "Mode Variational LSTM
Robust to Unseen Modes of Variation" (AAAI 2019).

Idea (from the paper): a plain LSTM keeps identity / pose / illumination
("mode") information in its cell state, because its forget gate is not
selective enough. The MV-LSTM adds a second cell state m that soaks up the mode
variation, with its own gates and a gate that decides what goes where, so the
expression cell state c stays clean and the output is read from c.

Equations of one step (sigma = logistic, (.) = elementwise product, H hidden
size, M mode size, z_t = [x_t ; h_{t-1} ; m_{t-1}]):

    i_t   = sigma(W_i z_t + b_i)              expression input gate    (H)
    f_t   = sigma(W_f z_t + b_f)              expression forget gate   (H)
    o_t   = sigma(W_o z_t + b_o)              output gate              (H)
    g_t   = tanh (W_g z_t + b_g)              candidate                (H)
    s_t   = sigma(W_s z_t + b_s)              mode-split gate: share of g_t sent to m   (H)
    i^m_t = sigma(W_{im} z_t + b_{im})        mode input gate          (M)
    f^m_t = sigma(W_{fm} z_t + b_{fm})        mode forget gate         (M)

    c_t = f_t (.) c_{t-1}   + i_t   (.) (1 - s_t) (.) g_t
    m_t = f^m_t (.) m_{t-1} + i^m_t (.) P (s_t (.) g_t)    P = I if M == H, else linear H -> M
    h_t = o_t (.) tanh(c_t)

All gate pre-activations come from ONE fused Linear on z_t (one matmul per step).

What follows the paper: the extra mode cell state; its own input and forget
gates; an extra gate that regulates which input content is stored in the mode
state rather than the expression state; the output computed from the
expression state.

What is our reading (the paper's exact wiring was not available to us, only its
abstract): (1) both states share one candidate g_t and the split gate routes it
complementarily, s_t to m and (1 - s_t) to c, so content put in m is removed
from c; (2) m_{t-1} is fed to every gate as context (the gates can only
"discount" a mode they can see; this is also the only path by which m affects
the output, so it is what trains the mode gates); (3) a projection P when M != H;
(4) bias init: forget gates +1 (standard LSTM practice), split gate -1 (start close
to a plain LSTM).
"""

import torch
from torch import Tensor, nn

State = tuple[Tensor, Tensor, Tensor]  # (h, c, m)


class MVLSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, mode_size: int | None = None):
        super().__init__()
        H, M = hidden_size, (mode_size or hidden_size)
        self.input_size, self.hidden_size, self.mode_size = input_size, H, M
        # Gate layout in the fused output: i f o g s | im fm
        self.sizes = [H, H, H, H, H, M, M]
        self.gates = nn.Linear(input_size + H + M, sum(self.sizes))
        self.proj_in = nn.Linear(H, M, bias=False) if M != H else None  # P
        self.reset_parameters()

    def reset_parameters(self) -> None:
        k = 1.0 / self.hidden_size**0.5
        nn.init.uniform_(self.gates.weight, -k, k)
        with torch.no_grad():
            b = list(self.gates.bias.split(self.sizes))
            for t in b:
                t.zero_()
            b[1].fill_(1.0)  # f: remember by default
            b[4].fill_(-1.0)  # s: start mostly as a plain LSTM
            b[6].fill_(1.0)  # f^m

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> State:
        z = lambda n: torch.zeros(batch, n, device=device, dtype=dtype)  # noqa: E731
        return z(self.hidden_size), z(self.hidden_size), z(self.mode_size)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if state is None:
            state = self.init_state(x.shape[0], x.device, x.dtype)
        h, c, m = state
        parts = self.gates(torch.cat([x, h, m], dim=1)).split(self.sizes, dim=1)
        i, f, o, s, im, fm = (torch.sigmoid(parts[k]) for k in (0, 1, 2, 4, 5, 6))
        g = torch.tanh(parts[3])
        to_mode = s * g
        c = f * c + i * (g - to_mode)  # (1 - s) * g
        m = fm * m + im * (to_mode if self.proj_in is None else self.proj_in(to_mode))
        h = o * torch.tanh(c)
        return h, (h, c, m)


class MVLSTM(nn.Module):
    """Stack of MVLSTMCells. State: (h, c, m), each (num_layers, N, size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, mode_size: int | None = None):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.cells = nn.ModuleList(
            MVLSTMCell(input_size if layer == 0 else hidden_size, hidden_size, mode_size) for layer in range(num_layers)
        )

    def init_state(self, batch: int, device=None, dtype=torch.float32) -> State:
        per = [cell.init_state(batch, device, dtype) for cell in self.cells]  # type: ignore[operator]
        return tuple(torch.stack([p[k] for p in per]) for k in range(3))  # type: ignore

    def step(self, x_t: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One time step for a batch: x_t (N, I) -> h (N, H), new state."""
        if state is None:
            state = self.init_state(x_t.shape[0], x_t.device, x_t.dtype)
        hs: list[Tensor] = []
        cs: list[Tensor] = []
        ms: list[Tensor] = []
        inp = x_t
        for layer, cell in enumerate(self.cells):
            inp, (h, c, m) = cell(inp, (state[0][layer], state[1][layer], state[2][layer]))
            hs.append(h)
            cs.append(c)
            ms.append(m)
        return inp, (torch.stack(hs), torch.stack(cs), torch.stack(ms))

    def forward(self, x: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        """x (N, T, I) -> outputs (N, T, H), final state.

        With `lengths`, steps t >= lengths[n] leave sequence n's state untouched
        (so the final state is the one after its last real frame) and its output
        there is zero.
        """
        N, T, _ = x.shape
        if state is None:
            state = self.init_state(N, x.device, x.dtype)
        valid = None
        if lengths is not None:
            steps = torch.arange(T, device=x.device)
            valid = steps[None, :] < lengths.to(x.device)[:, None]  # (N, T)
        outs = []
        for t in range(T):
            out, new = self.step(x[:, t], state)
            if valid is not None:
                v = valid[:, t]
                # Padded step: keep the old state (broadcast over layers and features).
                state = tuple(
                    torch.where(v[None, :, None], n, o)  # type: ignore
                    for n, o in zip(new, state)
                )
                out = out * v[:, None].to(out.dtype)
            else:
                state = new
            outs.append(out)
        return torch.stack(outs, dim=1), state
