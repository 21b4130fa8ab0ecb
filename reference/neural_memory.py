"""PyTorch reference for the Titans neural long-term memory (LMM).

Test oracle and performance peer for the C++ engine -- never a runtime dependency of it.
Specification: ../shared/spec/neural-memory.md ("the spec"); paper: Behrouz, Zhong, Mirrokni,
"Titans: Learning to Memorize at Test Time", arXiv 2501.00663 (equation numbers are the paper's).

Two implementations of the same function:

* ``sequential_memory`` -- the TEST ORACLE. Token by token; the inner gradient u_t (the "momentary
  surprise", Eq. 13) is taken with ``torch.autograd.grad(..., create_graph=True)`` of the associative loss
  (Eq. 12), at the weights the current chunk started with (spec §4, paper §3.2); chunk = 1 gives the exact
  recurrence of Eq. 13-14. Outer gradients flow through the inner gradient (second-order autograd).
* ``chunked_memory`` -- the PERFORMANCE PEER. Vectorised over batch and heads; per chunk, the key-path
  activations and back-propagated signals are explicit matmuls, the in-chunk recurrences are folded into
  the coefficients a_i, e_i, f_i, n_ij, G_ij (spec §4), and the per-token reads are b x b masked
  "attention" between query activations and key activations, layer by layer. Outer backward by autograd.

Both take and return the same streaming state (spec §6) and may be mixed call by call.

Parameters (``init_params``; names and shapes the C++ side loads; D = d_model, H = n_heads, d = head_dim,
HD = H*d, K = conv_kernel, hid = expansion*d, L = depth)::

    name                       shape             meaning
    w_q, w_k, w_v              [HD, D]           projections, q̂ = x W_Qᵀ (PyTorch Linear layout), no bias
    conv_q, conv_k, conv_v     [HD, K]           causal depthwise conv, no bias: out_t[c] =
                                                 sum_m conv[c, m] * in_{t-(K-1)+m}[c]  (column K-1 = current
                                                 token, column K-1-s = s tokens back; = torch Conv1d weight
                                                 [HD, 1, K] with left padding K-1)
    w_theta, w_eta, w_alpha    [H, D]            gate weights (one scalar gate per token per head)
    b_theta, b_eta, b_alpha    [H]               gate biases; init logit(theta_init), logit(eta_init),
                                                 logit(alpha_init)
    mem_w0.1 .. mem_w0.L       [H, out_l, in_l]  learned initial memory weights W_0^l (W^l a^{l-1}):
                                                 L = 1: [H, d, d]; L >= 2: l=1 [H, hid, d],
                                                 1<l<L [H, hid, hid], l=L [H, d, hid]
    w_gate                     [HD, D]           output gate W_G
    norm_out                   [HD]              RMSNorm weight (RMS over all HD features of a token)
    w_out                      [D, HD]           output projection W_O

All of them are always present; with ``momentum=False`` (``decay=False``) w_eta, b_eta (w_alpha, b_alpha)
are unused (their gradients are zero).

State (``init_state``; a dict, B = batch, n = tokens of the current, unfinished chunk, 0 <= n < chunk)::

    key                        shape             meaning
    mem_w.1 .. mem_w.L         [B, H, out_l, in_l]  memory weights at the START of the current chunk
    mem_s.1 .. mem_s.L         [B, H, out_l, in_l]  momentum S at the start of the current chunk
    tail_q, tail_k, tail_v     [B, K-1, HD]      last K-1 *pre-conv* projections q̂, k̂, v̂, oldest first
                                                 (zeros before the sequence start)
    pend_k, pend_v             [B, H, n, d]      keys (L2-normalised) / values of the current chunk's tokens
    pend_theta, pend_eta, pend_alpha  [B, H, n]  their gates (eta = 0 if momentum off, alpha = 0 if decay off)
    pos                        int               tokens consumed so far (for error reports only)

The memory's current weights M_t (after the last token received) are not stored: they are a function of
the above (``current_weights``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
Params = Dict[str, Tensor]
State = Dict[str, object]

__all__ = [
    "MemoryConfig", "init_params", "init_state", "sequential_memory", "chunked_memory", "read_only",
    "current_weights", "chunk_coefficients",
]

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_A = 0.044715


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------

@dataclass
class MemoryConfig:
    """Every [choice] of spec neural-memory.md is a field; defaults are the spec's."""

    d_model: int
    n_heads: int                      # H (spec [choice]: heads = n_heads)
    head_dim: Optional[int] = None    # d_h; None -> d_model // n_heads
    depth: int = 2                    # L_M, number of weight matrices of the memory MLP (1..4)
    expansion: int = 2                # hidden width = expansion * d_h (depth >= 2)
    activation: str = "gelu"          # 'gelu' (tanh form) | 'silu'
    residual: bool = False            # M(u) = u + MLP(u)
    conv_kernel: int = 4              # K of the causal depthwise conv on q, k, v
    chunk: int = 16                   # b: tokens per chunk of frozen inner gradients (§3.2)
    theta_max: float = 1.0            # theta_t = theta_max * sigmoid(.)
    momentum: bool = True             # False: eta == 0 (Table 5 ablation)
    decay: bool = True                # False: alpha == 0 (Table 5 ablation)
    # Gate biases at init (spec "suggested"): sigmoid(b) equals these, i.e. b = logit(value).
    theta_init: float = 0.1           # theta / theta_max at init  -> theta ~ 0.1 * theta_max
    eta_init: float = 0.9
    alpha_init: float = 0.01
    l2_eps: float = 1e-6              # q, k: u / sqrt(|u|^2 + eps)
    rms_eps: float = 1e-6             # RMSNorm: y / sqrt(mean(y^2) + eps) * w
    check_finite: bool = True         # spec §8: raise FloatingPointError naming layer/head/position

    def __post_init__(self):
        if self.head_dim is None:
            if self.d_model % self.n_heads:
                raise ValueError("head_dim not given and d_model not divisible by n_heads")
            self.head_dim = self.d_model // self.n_heads
        if not 1 <= self.depth <= 4:
            raise ValueError("depth must be in 1..4")
        if self.activation not in ("gelu", "silu"):
            raise ValueError("activation must be 'gelu' or 'silu'")
        if self.conv_kernel < 1 or self.chunk < 1 or self.expansion < 1:
            raise ValueError("conv_kernel, chunk and expansion must be >= 1")
        for name in ("theta_init", "eta_init", "alpha_init"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1)")

    @property
    def inner_dim(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def hidden_dim(self) -> int:
        return self.expansion * self.head_dim

    def layer_shapes(self) -> List[Tuple[int, int]]:
        """(out_l, in_l) of W^l for l = 1..depth."""
        d, h, L = self.head_dim, self.hidden_dim, self.depth
        if L == 1:
            return [(d, d)]
        return [(h, d)] + [(h, h)] * (L - 2) + [(d, h)]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


# ---------------------------------------------------------------------------------------------------
# Parameters and state
# ---------------------------------------------------------------------------------------------------

def init_params(cfg: MemoryConfig, generator: Optional[torch.Generator] = None,
                dtype: torch.dtype = torch.float32) -> Params:
    """Random initial parameters (see the module docstring for the table of names and shapes).

    Linear maps and convs: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's Linear/Conv1d default bound).
    Memory W_0^l: N(0, 1/in_l). Gate biases: logit of cfg.theta_init / eta_init / alpha_init.
    RMSNorm weight: ones.
    """
    D, H, HD, K = cfg.d_model, cfg.n_heads, cfg.inner_dim, cfg.conv_kernel

    def unif(shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return (torch.rand(shape, generator=generator, dtype=dtype) * 2.0 - 1.0) * bound

    p: Params = {}
    for s in "qkv":
        p[f"w_{s}"] = unif((HD, D), D)
    for s in "qkv":
        p[f"conv_{s}"] = unif((HD, K), K)
    for g, init in (("theta", cfg.theta_init), ("eta", cfg.eta_init), ("alpha", cfg.alpha_init)):
        p[f"w_{g}"] = unif((H, D), D)
        p[f"b_{g}"] = torch.full((H,), _logit(init), dtype=dtype)
    for l, (o, i) in enumerate(cfg.layer_shapes(), start=1):
        p[f"mem_w0.{l}"] = torch.randn((H, o, i), generator=generator, dtype=dtype) / math.sqrt(i)
    p["w_gate"] = unif((HD, D), D)
    p["norm_out"] = torch.ones(HD, dtype=dtype)
    p["w_out"] = unif((D, HD), HD)
    return p


def init_state(params: Params, cfg: MemoryConfig, batch: int) -> State:
    """State before the first token: M = learned W_0 (broadcast over batch, still differentiable w.r.t.
    params['mem_w0.l']), S_0 = 0, zero conv history, no pending tokens."""
    ref = params["w_q"]
    dt, dev = ref.dtype, ref.device
    H, d, HD, K = cfg.n_heads, cfg.head_dim, cfg.inner_dim, cfg.conv_kernel
    st: State = {}
    for l in range(1, cfg.depth + 1):
        w0 = params[f"mem_w0.{l}"]
        st[f"mem_w.{l}"] = w0.unsqueeze(0).expand(batch, *w0.shape)
        st[f"mem_s.{l}"] = torch.zeros(batch, *w0.shape, dtype=dt, device=dev)
    for s in "qkv":
        st[f"tail_{s}"] = torch.zeros(batch, K - 1, HD, dtype=dt, device=dev)
    st["pend_k"] = torch.zeros(batch, H, 0, d, dtype=dt, device=dev)
    st["pend_v"] = torch.zeros(batch, H, 0, d, dtype=dt, device=dev)
    for g in ("theta", "eta", "alpha"):
        st[f"pend_{g}"] = torch.zeros(batch, H, 0, dtype=dt, device=dev)
    st["pos"] = 0
    return st


# ---------------------------------------------------------------------------------------------------
# Small shared pieces
# ---------------------------------------------------------------------------------------------------

def _phi(z: Tensor, cfg: MemoryConfig) -> Tensor:
    """Memory-MLP non-linearity (spec §3): GELU tanh form or SiLU."""
    if cfg.activation == "gelu":
        return F.gelu(z, approximate="tanh")
    return F.silu(z)


def _phi_prime(z: Tensor, cfg: MemoryConfig) -> Tensor:
    """phi'(z), written out (used by the chunked path's explicit backward; differentiable again)."""
    if cfg.activation == "gelu":
        # g(z) = 0.5 z (1 + tanh(c (z + a z^3)))
        t = torch.tanh(_GELU_C * (z + _GELU_A * z * z * z))
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _GELU_C * (1.0 + 3.0 * _GELU_A * z * z)
    s = torch.sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _l2norm(u: Tensor, eps: float) -> Tensor:
    """u / sqrt(|u|^2 + eps) over the last (head) dimension (spec §2.4)."""
    return u / torch.sqrt((u * u).sum(-1, keepdim=True) + eps)


def _mlp(Ws: List[Tensor], u: Tensor, cfg: MemoryConfig, check=None) -> Tensor:
    """M(u) with per-(batch, head) weights Ws[l]: [B, H, out, in]; u: [B, H, in] (spec §3).
    check(l, pre_activation) is called per layer when given (non-finite reporting)."""
    h = u
    for l, W in enumerate(Ws):
        h = torch.matmul(W, h.unsqueeze(-1)).squeeze(-1)
        if check is not None:
            check(l + 1, h)
        if l < len(Ws) - 1:
            h = _phi(h, cfg)
    return u + h if cfg.residual else h


def _output_path(params: Params, y: Tensor, x: Tensor, cfg: MemoryConfig) -> Tensor:
    """out = W_O( RMSNorm(y) * SiLU(W_G x) ) (spec §5 [choice]; paper §4.4 "normalisation and gating with
    a linear layer before the final output projection"). y: [..., HD] (heads concatenated), x: [..., D].
    The RMS is over all HD features of a token [choice: one norm over the concatenated heads]."""
    yn = y * torch.rsqrt((y * y).mean(-1, keepdim=True) + cfg.rms_eps) * params["norm_out"]
    g = F.silu(x @ params["w_gate"].t())
    return (yn * g) @ params["w_out"].t()


def _raise_nonfinite(t: Tensor, what: str, pos_of, layer: Optional[int] = None):
    """Spec §8: report where the first non-finite value is. t: [B, H, n, ...]; pos_of(i) -> global
    position of local index i."""
    bad = ~torch.isfinite(t)
    while bad.dim() > 3:
        bad = bad.any(-1)
    b, h, i = [int(v) for v in bad.nonzero()[0]]
    where = f"layer {layer}, " if layer is not None else ""
    raise FloatingPointError(f"non-finite {what}: {where}batch {b}, head {h}, position {pos_of(i)}")


def _check(cfg: MemoryConfig, t: Tensor, what: str, pos_of, layer: Optional[int] = None):
    if cfg.check_finite and not bool(torch.isfinite(t).all()):
        _raise_nonfinite(t, what, pos_of, layer)


# ---------------------------------------------------------------------------------------------------
# The oracle: token-by-token recurrence with chunk-frozen, autograd inner gradients
# ---------------------------------------------------------------------------------------------------

def _inner_grad(W_start: List[Tensor], k: Tensor, v: Tensor, cfg: MemoryConfig) -> List[Tensor]:
    """u = grad_W l(M_W; k, v) at W = W_start, l = ||M(k) - v||^2 summed over features, no 1/2 (Eq. 12).

    Per (batch, head): the summed loss separates, so the gradient w.r.t. the [B, H, ...] weights is the
    per-(batch, head) gradient. create_graph=True so outer gradients flow through u (spec §7).

    u is the PARTIAL derivative (k, v held fixed): the gradient is taken w.r.t. a fresh node
    ``W_start.clone()``, so that a path W_start -> ... -> k, v in the outer graph is not counted. Such paths
    exist in MAC, where the written tokens Y depend on M*_{s-1}, a function of the chunk-start weights;
    w.r.t. W_start itself autograd.grad would return the total derivative there.
    """
    with torch.enable_grad():
        Ws = [w.clone() if w.requires_grad else w.detach().requires_grad_(True) for w in W_start]
        loss = ((_mlp(Ws, k, cfg) - v) ** 2).sum()
        return list(torch.autograd.grad(loss, Ws, create_graph=True))


def _write(W_start, W, S, k, v, theta, eta, alpha, cfg):
    """One token of Eq. 13-14 with the gradient frozen at the chunk start (§3.2):
         u_t = grad l(M_{c(t)}; k_t, v_t)
         S_t = eta_t S_{t-1} - theta_t u_t
         M_t = (1 - alpha_t) M_{t-1} + S_t
    The same eta, theta, alpha for every weight matrix of the MLP (spec §4)."""
    u = _inner_grad(W_start, k, v, cfg)
    th, et, ga = theta[..., None, None], eta[..., None, None], (1.0 - alpha)[..., None, None]
    S_new = [et * s - th * g for s, g in zip(S, u)]
    W_new = [ga * w + s for w, s in zip(W, S_new)]
    return W_new, S_new


def _pending_list(state: State) -> List[Tuple[Tensor, ...]]:
    n = state["pend_k"].shape[2]
    return [tuple(state[f"pend_{s}"][:, :, j] for s in ("k", "v", "theta", "eta", "alpha"))
            for j in range(n)]


def current_weights(state: State, cfg: MemoryConfig) -> List[Tensor]:
    """M_t after the last token received: replay the pending tokens of the unfinished chunk on top of the
    chunk-start weights (oracle arithmetic). List over layers of [B, H, out, in]."""
    L = cfg.depth
    W0 = [state[f"mem_w.{l}"] for l in range(1, L + 1)]
    W, S = list(W0), [state[f"mem_s.{l}"] for l in range(1, L + 1)]
    for (k, v, th, et, al) in _pending_list(state):
        W, S = _write(W0, W, S, k, v, th, et, al, cfg)
    return W


def sequential_memory(params: Params, x: Tensor, cfg: MemoryConfig,
                      state: Optional[State] = None) -> Tuple[Tensor, State]:
    """TEST ORACLE. x: [B, T, d_model] -> (out [B, T, d_model], state).

    Token by token: projections, causal conv (from the carried tail), SiLU, L2-norm (spec §2); write with
    the chunk-frozen gradient (``_write``); read y_t = M_t(q_t) AFTER the write (spec §5); output path.
    Chunk boundaries are global (every ``chunk`` tokens since the start of the sequence), so feeding the
    sequence in pieces with the state carried gives the same result as one call (spec §6).
    """
    B, T, _ = x.shape
    H, d, L, b = cfg.n_heads, cfg.head_dim, cfg.depth, cfg.chunk
    if state is None:
        state = init_state(params, cfg, B)
    pos0 = int(state["pos"])

    W0 = [state[f"mem_w.{l}"] for l in range(1, L + 1)]           # chunk-start weights
    S0 = [state[f"mem_s.{l}"] for l in range(1, L + 1)]           # chunk-start momentum
    pend = _pending_list(state)
    W, S = list(W0), list(S0)
    for (k, v, th, et, al) in pend:                                 # rebuild M_t, S_t of the partial chunk
        W, S = _write(W0, W, S, k, v, th, et, al, cfg)
    tails = {s: state[f"tail_{s}"] for s in "qkv"}

    outs = []
    for t in range(T):
        xt = x[:, t]                                                # [B, D]
        pos = pos0 + t
        feats = {}
        for s in "qkv":
            pre = xt @ params[f"w_{s}"].t()                         # [B, HD]
            win = torch.cat([tails[s], pre.unsqueeze(1)], dim=1)    # [B, K, HD], oldest first
            tails[s] = win[:, 1:]
            conv = (win * params[f"conv_{s}"].t().unsqueeze(0)).sum(1)
            feats[s] = F.silu(conv).reshape(B, H, d)
        q = _l2norm(feats["q"], cfg.l2_eps)
        k = _l2norm(feats["k"], cfg.l2_eps)
        v = feats["v"]
        theta = cfg.theta_max * torch.sigmoid(xt @ params["w_theta"].t() + params["b_theta"])   # [B, H]
        eta = torch.sigmoid(xt @ params["w_eta"].t() + params["b_eta"]) if cfg.momentum \
            else torch.zeros_like(theta)
        alpha = torch.sigmoid(xt @ params["w_alpha"].t() + params["b_alpha"]) if cfg.decay \
            else torch.zeros_like(theta)
        for name, tns in (("query", q), ("key", k), ("value", v)):
            _check(cfg, tns.unsqueeze(2), name, lambda i: pos)
        _check(cfg, torch.stack([theta, eta, alpha], -1).unsqueeze(2), "gate", lambda i: pos)

        pend.append((k, v, theta, eta, alpha))
        W, S = _write(W0, W, S, k, v, theta, eta, alpha, cfg)
        if cfg.check_finite:
            for l in range(L):
                _check(cfg, W[l].unsqueeze(2), "memory weights", lambda i: pos, layer=l + 1)
                _check(cfg, S[l].unsqueeze(2), "momentum", lambda i: pos, layer=l + 1)
        # read after write: y_t = M_t(q_t)
        y = _mlp(W, q, cfg, check=lambda l, h: _check(cfg, h.unsqueeze(2), "memory read", lambda i: pos,
                                                      layer=l))
        if len(pend) == b:                                          # chunk complete: new chunk start
            W0, S0, pend = list(W), list(S), []
        outs.append(_output_path(params, y.reshape(B, H * d), xt, cfg))

    out = torch.stack(outs, dim=1) if outs else x.new_zeros(B, 0, cfg.d_model)
    new: State = {}
    for l in range(L):
        new[f"mem_w.{l + 1}"] = W0[l]
        new[f"mem_s.{l + 1}"] = S0[l]
    for s in "qkv":
        new[f"tail_{s}"] = tails[s]
    if pend:
        for j, name in enumerate(("k", "v", "theta", "eta", "alpha")):
            new[f"pend_{name}"] = torch.stack([p[j] for p in pend], dim=2)
    else:
        new["pend_k"] = x.new_zeros(B, H, 0, d)
        new["pend_v"] = x.new_zeros(B, H, 0, d)
        for g in ("theta", "eta", "alpha"):
            new[f"pend_{g}"] = x.new_zeros(B, H, 0)
    new["pos"] = pos0 + T
    return out, new


def read_only(params: Params, q_input: Tensor, cfg: MemoryConfig, state: Optional[State] = None,
              q_tail: Optional[Tensor] = None) -> Tensor:
    """M*(q): read WITHOUT write (MAC's retrieval, architectures.md §4.1; paper Eq. 21), through the same
    output path. q_input: [B, T, d_model] -> [B, T, d_model].

    Every token reads the same weights: the memory's *current* weights M_s, i.e. after ALL tokens the state
    has received (chunk-start weights plus the replayed pending tokens of an unfinished chunk); state None
    means the learned initial W_0. The state is not changed.
    Query path = the write path's: W_Q, causal conv, SiLU, L2-norm. [choice] The conv history of the read
    stream is ``q_tail`` ([B, K-1, HD] pre-conv projections, oldest first), default zeros (segment-local);
    the state's tail_q belongs to the *written* stream and is not used.
    """
    B, T, _ = q_input.shape
    H, d, K = cfg.n_heads, cfg.head_dim, cfg.conv_kernel
    if state is None:
        state = init_state(params, cfg, B)
    W = current_weights(state, cfg)
    if q_tail is None:
        q_tail = q_input.new_zeros(B, K - 1, cfg.inner_dim)
    pre = torch.cat([q_tail, q_input @ params["w_q"].t()], dim=1)          # [B, K-1+T, HD]
    conv = F.conv1d(pre.transpose(1, 2), params["conv_q"].unsqueeze(1), groups=cfg.inner_dim)
    q = _l2norm(F.silu(conv.transpose(1, 2)).reshape(B, T, H, d), cfg.l2_eps)   # [B, T, H, d]
    # y_t = M_s(q_t) for all t: same weights, batched over tokens.
    h = q.permute(0, 2, 1, 3)                                               # [B, H, T, d]
    for l, Wl in enumerate(W):
        h = h @ Wl.transpose(-1, -2)
        if l < len(W) - 1:
            h = _phi(h, cfg)
    y = h + q.permute(0, 2, 1, 3) if cfg.residual else h
    return _output_path(params, y.permute(0, 2, 1, 3).reshape(B, T, H * d), q_input, cfg)


# ---------------------------------------------------------------------------------------------------
# The performance peer: chunked, vectorised over batch and heads
# ---------------------------------------------------------------------------------------------------

def _tri_products(g: Tensor) -> Tensor:
    """P[..., i, j] = prod_{k=j+1..i} g[..., k] for i >= j (1 on the diagonal), 0 for i < j.

    A cumulative product down each column of the matrix with g_i strictly below the diagonal and 1
    elsewhere: column j runs the recurrence P_{i,j} = g_i P_{i-1,j}, P_{j,j} = 1. Products of numbers in
    [0, 1] only; no division of cumulative products (which Eq. 16's beta_t / beta_i would need)."""
    b = g.shape[-1]
    idx = torch.arange(b, device=g.device)
    below = idx[:, None] > idx[None, :]                             # i > j
    mat = torch.where(below, g.unsqueeze(-1), torch.ones((), dtype=g.dtype, device=g.device))
    return torch.cumprod(mat, dim=-2).masked_fill(idx[:, None] < idx[None, :], 0.0)


def chunk_coefficients(theta: Tensor, eta: Tensor, alpha: Tensor):
    """Spec §4 coefficients for chunks; inputs [..., b] (chunk-local i = 1..b on the last axis).

        e_i  = prod_{k<=i} eta_k                       a_i = prod_{k<=i} gamma_k,  gamma = 1 - alpha
        n_ij = theta_j prod_{k=j+1..i} eta_k           f_i = gamma_i f_{i-1} + e_i        (f_0 = 0)
        G_ij = gamma_i G_{i-1,j} + n_ij                (G_{j-1,j} = 0)
    so that (spec §4)   S_i = e_i S_0 - sum_{j<=i} n_ij u_j,   M_i = a_i M_0 + f_i S_0 - sum_{j<=i} G_ij u_j.

    The f and G recurrences are evaluated in their unrolled form f_i = sum_{m<=i} Gam_im e_m and
    G_ij = sum_m Gam_im n_mj with Gam_im = prod_{k=m+1..i} gamma_k (a triangular matmul; same value, all
    terms products of numbers in [0, 1]). Returns a, e, f: [..., b]; n, G: [..., b, b] (lower triangular).
    """
    gamma = 1.0 - alpha
    e = torch.cumprod(eta, dim=-1)
    a = torch.cumprod(gamma, dim=-1)
    n = _tri_products(eta) * theta.unsqueeze(-2)        # n_ij = theta_j * prod_{k=j+1..i} eta_k
    Gam = _tri_products(gamma)
    f = (Gam @ e.unsqueeze(-1)).squeeze(-1)
    G = Gam @ n
    return a, e, f, n, G


def _project(params: Params, x: Tensor, cfg: MemoryConfig, state: State):
    """Spec §2 for a whole call: q, k, v [B, H, T, d]; gates [B, H, T]; new conv tails."""
    B, T, _ = x.shape
    H, d, HD, K = cfg.n_heads, cfg.head_dim, cfg.inner_dim, cfg.conv_kernel
    feats, tails = {}, {}
    for s in "qkv":
        pre = torch.cat([state[f"tail_{s}"], x @ params[f"w_{s}"].t()], dim=1)     # [B, K-1+T, HD]
        tails[s] = pre[:, pre.shape[1] - (K - 1):]
        conv = F.conv1d(pre.transpose(1, 2), params[f"conv_{s}"].unsqueeze(1), groups=HD)   # [B, HD, T]
        feats[s] = F.silu(conv).reshape(B, H, d, T).transpose(-1, -2)              # [B, H, T, d]
    q = _l2norm(feats["q"], cfg.l2_eps)
    k = _l2norm(feats["k"], cfg.l2_eps)
    v = feats["v"]

    def gate(name):
        return torch.sigmoid(x @ params[f"w_{name}"].t() + params[f"b_{name}"]).transpose(1, 2)  # [B,H,T]

    theta = cfg.theta_max * gate("theta")
    eta = gate("eta") if cfg.momentum else torch.zeros_like(theta)
    alpha = gate("alpha") if cfg.decay else torch.zeros_like(theta)
    return q, k, v, theta, eta, alpha, tails


def chunked_memory(params: Params, x: Tensor, cfg: MemoryConfig,
                   state: Optional[State] = None) -> Tuple[Tensor, State]:
    """PERFORMANCE PEER. Same function, same state as ``sequential_memory``.

    Per chunk (M_0 = W0, S_0 = S0 the chunk-start state; all per (batch, head)):
      key path:  a^0_j = k_j, z^l_j = W0^l a^{l-1}_j, a^l_j = phi(z^l_j);  M_0(k_j) = z^L_j (+ k_j)
      backward:  delta^L_j = 2 (M_0(k_j) - v_j),  delta^{l-1}_j = (W0^{l}T delta^l_j) * phi'(z^{l-1}_j)
                 so u^l_j = delta^l_j (a^{l-1}_j)T  (one outer product per token and layer)
      reads:     h^0_i = q_i;  W^l_i h_i = a_i W0^l h_i + f_i S0^l h_i - sum_{j<=i} G_ij (a^{l-1}_j . h_i) delta^l_j
                 -- b x b masked "attention" scores (h_i . a^{l-1}_j) * G_ij; h^l = phi(.) except last layer
      chunk end: W_b = a_b W0 + f_b S0 - sum_j G_bj u_j,   S_b = e_b S0 - sum_j n_bj u_j
    The tokens of an unfinished chunk carried in the state are prepended (their outputs were already
    produced and are recomputed and dropped), so chunk boundaries stay global.
    """
    B, T, _ = x.shape
    H, d, L, b = cfg.n_heads, cfg.head_dim, cfg.depth, cfg.chunk
    if state is None:
        state = init_state(params, cfg, B)
    pos0 = int(state["pos"])
    if T == 0:
        return x.new_zeros(B, 0, cfg.d_model), dict(state)

    q, k, v, theta, eta, alpha, tails = _project(params, x, cfg, state)
    for name, tns in (("query", q), ("key", k), ("value", v)):
        _check(cfg, tns, name, lambda i: pos0 + i)
    _check(cfg, torch.stack([theta, eta, alpha], -1), "gate", lambda i: pos0 + i)

    n_p = state["pend_k"].shape[2]
    k_all = torch.cat([state["pend_k"], k], dim=2)
    v_all = torch.cat([state["pend_v"], v], dim=2)
    q_all = torch.cat([q.new_zeros(B, H, n_p, d), q], dim=2)      # pending tokens' reads are discarded
    th_all = torch.cat([state["pend_theta"], theta], dim=2)
    et_all = torch.cat([state["pend_eta"], eta], dim=2)
    al_all = torch.cat([state["pend_alpha"], alpha], dim=2)
    N = n_p + T
    nc = -(-N // b)
    pad = nc * b - N
    if pad:   # padding sits after every real token of the last chunk: it cannot reach real outputs
        k_all, v_all, q_all = (F.pad(t, (0, 0, 0, pad)) for t in (k_all, v_all, q_all))
        th_all, et_all, al_all = (F.pad(t, (0, pad)) for t in (th_all, et_all, al_all))
    a_c, e_c, f_c, n_c, G_c = chunk_coefficients(th_all.reshape(B, H, nc, b), et_all.reshape(B, H, nc, b),
                                                 al_all.reshape(B, H, nc, b))
    Kc = k_all.reshape(B, H, nc, b, d)
    Vc = v_all.reshape(B, H, nc, b, d)
    Qc = q_all.reshape(B, H, nc, b, d)

    W0 = [state[f"mem_w.{l}"] for l in range(1, L + 1)]
    S0 = [state[f"mem_s.{l}"] for l in range(1, L + 1)]
    ys = []
    for c in range(nc):
        kk, vv, qq = Kc[:, :, c], Vc[:, :, c], Qc[:, :, c]          # [B, H, b, d]
        a, e, f = a_c[:, :, c, :, None], e_c[:, :, c, :, None], f_c[:, :, c, :, None]   # [B, H, b, 1]
        n, G = n_c[:, :, c], G_c[:, :, c]                           # [B, H, b, b]
        first = pos0 + c * b - n_p                                  # global position of local index 0

        # key path at the chunk-start weights, and its backward (explicit matmuls)
        acts, zs, h = [], [], kk
        for l in range(L):
            acts.append(h)                                          # a^{l}: input of layer l+1
            z = h @ W0[l].transpose(-1, -2)
            zs.append(z)
            h = _phi(z, cfg) if l < L - 1 else z
        pred = h + kk if cfg.residual else h
        deltas = [None] * L
        delta = 2.0 * (pred - vv)                                   # d l / d M(k), Eq. 12 without 1/2
        for l in range(L - 1, -1, -1):
            deltas[l] = delta
            if l > 0:
                delta = (delta @ W0[l]) * _phi_prime(zs[l - 1], cfg)

        # per-token reads, layer by layer, as b x b masked attention
        h = qq
        for l in range(L):
            scores = (h @ acts[l].transpose(-1, -2)) * G           # [B, H, b(i), b(j)], G lower-triangular
            out = a * (h @ W0[l].transpose(-1, -2)) + f * (h @ S0[l].transpose(-1, -2)) - scores @ deltas[l]
            _check(cfg, out, "memory read", lambda i: first + i, layer=l + 1)
            h = _phi(out, cfg) if l < L - 1 else out
        ys.append(h + qq if cfg.residual else h)

        full = c < nc - 1 or pad == 0
        if full:                                                    # advance to the next chunk start
            Gb, nb = G[:, :, -1, :, None], n[:, :, -1, :, None]    # [B, H, b, 1]
            ab, eb, fb = a[:, :, -1, :, None], e[:, :, -1, :, None], f[:, :, -1, :, None]  # [B, H, 1, 1]
            newW, newS = [], []
            for l in range(L):
                sumG = (deltas[l] * Gb).transpose(-1, -2) @ acts[l]     # sum_j G_bj delta_j a_j^T
                sumN = (deltas[l] * nb).transpose(-1, -2) @ acts[l]     # sum_j n_bj delta_j a_j^T
                newW.append(ab * W0[l] + fb * S0[l] - sumG)
                newS.append(eb * S0[l] - sumN)
                _check(cfg, newW[l].unsqueeze(2), "memory weights", lambda i: first + b - 1, layer=l + 1)
                _check(cfg, newS[l].unsqueeze(2), "momentum", lambda i: first + b - 1, layer=l + 1)
            W0, S0 = newW, newS

    y = torch.cat(ys, dim=2)[:, :, n_p:n_p + T]                     # [B, H, T, d]
    out = _output_path(params, y.transpose(1, 2).reshape(B, T, H * d), x, cfg)

    new: State = {}
    for l in range(L):
        new[f"mem_w.{l + 1}"] = W0[l]
        new[f"mem_s.{l + 1}"] = S0[l]
    for s in "qkv":
        new[f"tail_{s}"] = tails[s]
    start = (nc - 1) * b if pad else nc * b                         # first token of the unfinished chunk
    for name, t in (("k", k_all), ("v", v_all)):
        new[f"pend_{name}"] = t[:, :, start:N]
    for name, t in (("theta", th_all), ("eta", et_all), ("alpha", al_all)):
        new[f"pend_{name}"] = t[:, :, start:N]
    new["pos"] = pos0 + T
    return out, new
