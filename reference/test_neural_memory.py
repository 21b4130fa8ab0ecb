"""Tests of the PyTorch reference (neural_memory.py). Run:  /usr/bin/python3 reference/test_neural_memory.py

(a) chunk = 1 oracle == a hand-written exact recurrence (depth 1, u_t = 2 (W k - v) k^T by hand);
    also chunk-frozen and residual variants
(b) sequential (oracle) == chunked (peer): depth 1..4, chunk 1/4/16, momentum/decay/residual on/off
(c) streaming: one call == random pieces == token by token, both implementations (and mixed)
(d) outer gradients of chunked == sequential, all parameters and x (including through the final state)
(e) torch.autograd.gradcheck on tiny cases
(f) causality
plus: read_only (M*), coefficient recurrences, non-finite reporting.
All in float64 unless stated. Prints "N passed, M failed" last; exit status 1 on any failure.
"""
import itertools
import math
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neural_memory import (MemoryConfig, init_params, init_state, sequential_memory,  # noqa: E402
                           chunked_memory, read_only, chunk_coefficients)

torch.set_num_threads(min(4, torch.get_num_threads()))
DT = torch.float64
from testing import test, run_tests  # noqa: E402


def setup(seed=0, B=2, T=37, **kw):
    kw.setdefault("d_model", 8)
    kw.setdefault("n_heads", 2)
    kw.setdefault("head_dim", 4)
    # theta ~ 0.03: with the spec's suggested theta ~ 0.1 (sum loss, eta ~ 0.9) these tiny random
    # memories (d_h = 4, correlated keys) diverge in a few chunks; equality tests want finite values.
    kw.setdefault("theta_max", 0.3)
    cfg = MemoryConfig(**kw)
    g = torch.Generator().manual_seed(seed)
    p = init_params(cfg, g, DT)
    # perturb biases / norm weight away from their constant init so that every parameter matters
    for name in ("b_theta", "b_eta", "b_alpha"):
        p[name] = p[name] + 0.3 * torch.randn(p[name].shape, generator=g, dtype=DT)
    p["norm_out"] = p["norm_out"] + 0.2 * torch.randn(p["norm_out"].shape, generator=g, dtype=DT)
    x = torch.randn(B, T, cfg.d_model, generator=g, dtype=DT)
    return cfg, p, x


def maxdiff(a, b):
    return (a - b).abs().max().item() if a.numel() else 0.0


def state_diff(s1, s2):
    """max abs difference over all state tensors, relative to max(1, magnitude) per tensor."""
    assert set(s1) == set(s2), (set(s1) ^ set(s2))
    assert s1["pos"] == s2["pos"]
    worst = 0.0
    for key in s1:
        if key == "pos":
            continue
        a, b = s1[key], s2[key]
        assert a.shape == b.shape, (key, a.shape, b.shape)
        if a.numel():
            worst = max(worst, maxdiff(a, b) / max(1.0, a.abs().max().item()))
    return worst


# ---------------------------------------------------------------------------------------------------
# (a) hand-written depth-1 recurrence
# ---------------------------------------------------------------------------------------------------

def hand_depth1(p, x, cfg):
    """Independent, explicit implementation for a linear memory M(u) = W u (+ u if residual).
    u_t = 2 (M(k_t) - v_t) k_t^T  with M the chunk-start weights; S, M recurrences of Eq. 13-14."""
    B, T, D = x.shape
    H, d, K, b = cfg.n_heads, cfg.head_dim, cfg.conv_kernel, cfg.chunk
    feats = {}
    for s in "qkv":
        pre = torch.einsum("btD,cD->btc", x, p[f"w_{s}"])
        conv = torch.zeros_like(pre)
        for t in range(T):
            for m in range(K):                    # conv[c, m] multiplies the input (K-1-m) steps back
                src = t - (K - 1) + m
                if src >= 0:
                    conv[:, t] += p[f"conv_{s}"][:, m] * pre[:, src]
        act = conv * torch.sigmoid(conv)
        feats[s] = act.reshape(B, T, H, d)
    q = feats["q"] / torch.sqrt((feats["q"] ** 2).sum(-1, keepdim=True) + 1e-6)
    k = feats["k"] / torch.sqrt((feats["k"] ** 2).sum(-1, keepdim=True) + 1e-6)
    v = feats["v"]
    sig = torch.sigmoid
    theta = cfg.theta_max * sig(torch.einsum("btD,hD->bth", x, p["w_theta"]) + p["b_theta"])
    eta = sig(torch.einsum("btD,hD->bth", x, p["w_eta"]) + p["b_eta"]) if cfg.momentum else 0 * theta
    alpha = sig(torch.einsum("btD,hD->bth", x, p["w_alpha"]) + p["b_alpha"]) if cfg.decay else 0 * theta
    W = p["mem_w0.1"].unsqueeze(0).repeat(B, 1, 1, 1)   # [B, H, d, d]
    S = torch.zeros_like(W)
    Wc = W.clone()
    ys = []
    for t in range(T):
        kt, vt, qt = k[:, t], v[:, t], q[:, t]
        pred = torch.einsum("bhij,bhj->bhi", Wc, kt) + (kt if cfg.residual else 0)
        u = 2.0 * (pred - vt)[..., :, None] * kt[..., None, :]
        S = eta[:, t, :, None, None] * S - theta[:, t, :, None, None] * u
        W = (1 - alpha[:, t, :, None, None]) * W + S
        y = torch.einsum("bhij,bhj->bhi", W, qt) + (qt if cfg.residual else 0)
        if (t + 1) % b == 0:
            Wc = W.clone()
        ys.append(y.reshape(B, H * d))
    y = torch.stack(ys, 1)
    yn = y / torch.sqrt((y ** 2).mean(-1, keepdim=True) + 1e-6) * p["norm_out"]
    gt = torch.einsum("btD,cD->btc", x, p["w_gate"])
    return torch.einsum("btc,Dc->btD", yn * gt * torch.sigmoid(gt), p["w_out"])


@test
def test_a_hand_written_depth1():
    for chunk, residual, mom, dec, K in [(1, False, True, True, 4), (1, True, True, True, 4),
                                         (1, False, False, True, 3), (1, False, True, False, 1),
                                         (3, False, True, True, 4), (5, True, True, True, 2)]:
        cfg, p, x = setup(seed=1, T=17, depth=1, chunk=chunk, residual=residual, momentum=mom,
                          decay=dec, conv_kernel=K)
        ref = hand_depth1(p, x, cfg)
        out, _ = sequential_memory(p, x, cfg)
        err = maxdiff(out, ref)
        assert err < 1e-12, (chunk, residual, mom, dec, err)


# ---------------------------------------------------------------------------------------------------
# (b) sequential == chunked
# ---------------------------------------------------------------------------------------------------

@test
def test_b_sequential_equals_chunked():
    n, worst = 0, [0.0, 0.0]
    for depth, chunk in itertools.product((1, 2, 3), (1, 4, 16)):
        for mom, dec, res in itertools.product((True, False), repeat=3):
            act = "gelu" if (n % 2 == 0) else "silu"
            n += 1
            cfg, p, x = setup(seed=n, T=37, depth=depth, chunk=chunk, momentum=mom, decay=dec,
                              residual=res, activation=act)
            o1, s1 = sequential_memory(p, x, cfg)
            o2, s2 = chunked_memory(p, x, cfg)
            err, serr = maxdiff(o1, o2), state_diff(s1, s2)
            assert err < 1e-10 and serr < 1e-10, (depth, chunk, mom, dec, res, act, err, serr)
            worst = [max(worst[0], err), max(worst[1], serr)]
    for act in ("gelu", "silu"):               # depth 4, other shapes
        cfg, p, x = setup(seed=99, B=3, T=29, d_model=12, n_heads=3, head_dim=5, depth=4, chunk=8,
                          activation=act, expansion=3, conv_kernel=3)
        o1, s1 = sequential_memory(p, x, cfg)
        o2, s2 = chunked_memory(p, x, cfg)
        assert maxdiff(o1, o2) < 1e-10 and state_diff(s1, s2) < 1e-10, act
        worst = [max(worst[0], maxdiff(o1, o2)), max(worst[1], state_diff(s1, s2))]
    return f"{n + 2} configs, max |out diff| {worst[0]:.1e}, max rel state diff {worst[1]:.1e}"


# ---------------------------------------------------------------------------------------------------
# (c) streaming
# ---------------------------------------------------------------------------------------------------

def run_pieces(fns, p, x, cfg, sizes):
    state, outs, t, i = None, [], 0, 0
    for n in sizes:
        out, state = fns[i % len(fns)](p, x[:, t:t + n], cfg, state)
        outs.append(out)
        t += n
        i += 1
    assert t == x.shape[1]
    return torch.cat(outs, 1), state


def random_sizes(T, rng):
    sizes = []
    while sum(sizes) < T:
        sizes.append(min(rng.choice([0, 1, 2, 3, 5, 7, 11]), T - sum(sizes)))
    return sizes


@test
def test_c_streaming():
    rng = random.Random(0)
    for kw in (dict(depth=2, chunk=4), dict(depth=1, chunk=16, conv_kernel=1),
               dict(depth=3, chunk=5, residual=True, activation="silu", momentum=False)):
        cfg, p, x = setup(seed=7, T=33, **kw)
        for impl in (sequential_memory, chunked_memory):
            ref, sref = impl(p, x, cfg)
            for sizes in (random_sizes(33, rng), random_sizes(33, rng), [1] * 33):
                out, st = run_pieces([impl], p, x, cfg, sizes)
                assert maxdiff(out, ref) < 1e-10 and state_diff(st, sref) < 1e-10, (kw, impl, sizes)
        # the state format is shared: alternate implementations piece by piece
        ref, sref = chunked_memory(p, x, cfg)
        out, st = run_pieces([chunked_memory, sequential_memory], p, x, cfg, random_sizes(33, rng))
        assert maxdiff(out, ref) < 1e-10 and state_diff(st, sref) < 1e-10, kw


# ---------------------------------------------------------------------------------------------------
# (d) outer gradients
# ---------------------------------------------------------------------------------------------------

def loss_and_grads(fn_pieces, p, x, cfg, seed=3):
    p = {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}
    x = x.detach().clone().requires_grad_(True)
    out, st = fn_pieces(p, x, cfg)
    g = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=g, dtype=DT)).sum()
    for l in range(1, cfg.depth + 1):          # gradients through the carried state too
        for key in (f"mem_w.{l}", f"mem_s.{l}"):
            loss = loss + 0.1 * (st[key] * torch.randn(st[key].shape, generator=g, dtype=DT)).sum()
    names = list(p)
    grads = torch.autograd.grad(loss, [p[n] for n in names] + [x], allow_unused=True)
    res = {n: (gr if gr is not None else torch.zeros_like(p[n])) for n, gr in zip(names, grads)}
    res["x"] = grads[-1]
    return res


@test
def test_d_gradients_chunked_equal_sequential():
    worst = 0.0
    for kw in (dict(depth=1, chunk=4), dict(depth=2, chunk=4, activation="gelu"),
               dict(depth=3, chunk=3, activation="silu", residual=True, momentum=False),
               dict(depth=2, chunk=16, decay=False), dict(depth=2, chunk=1)):
        cfg, p, x = setup(seed=5, T=21, **kw)
        gs = loss_and_grads(lambda p, x, c: sequential_memory(p, x, c), p, x, cfg)
        gc = loss_and_grads(lambda p, x, c: chunked_memory(p, x, c), p, x, cfg)
        # pieces with the state carried: gradients flow across calls
        gp = loss_and_grads(lambda p, x, c: run_pieces([chunked_memory], p, x, c, [5, 0, 9, 7]), p, x, cfg)
        for name in gs:
            scale = max(1.0, gs[name].abs().max().item())
            assert maxdiff(gs[name], gc[name]) / scale < 1e-8, (kw, name, maxdiff(gs[name], gc[name]))
            assert maxdiff(gs[name], gp[name]) / scale < 1e-8, (kw, name, "pieces")
            worst = max(worst, maxdiff(gs[name], gc[name]), maxdiff(gs[name], gp[name]))
        used = [n for n in gs if gs[n].abs().max() > 0]
        unused = {n for n in gs if n not in used}
        expect_unused = set()
        if not cfg.momentum:
            expect_unused |= {"w_eta", "b_eta"}
        if not cfg.decay:
            expect_unused |= {"w_alpha", "b_alpha"}
        assert unused == expect_unused, (kw, unused)
    return f"max |grad diff| {worst:.1e}"


@test
def test_d2_inputs_depending_on_the_state():
    """MAC writes tokens Y that depend on M*_{s-1}, a function of the carried chunk-start weights: the
    oracle's inner gradient must stay the partial derivative (k, v fixed), outputs and outer gradients
    equal to the chunked peer's (whose inner gradient is explicit)."""
    for kw in (dict(depth=2, chunk=3), dict(depth=1, chunk=4, momentum=False)):
        cfg, p, x = setup(seed=7, T=20, **kw)

        def run(impl, p, x, c):
            _, st = impl(p, x[:, :10], c)
            y2 = x[:, 10:] + read_only(p, x[:, 10:], c, st)      # inputs depend on the carried state
            out2, st2 = impl(p, y2, c, st)
            return out2, st2

        gs = loss_and_grads(lambda p, x, c: run(sequential_memory, p, x, c), p, x, cfg)
        gc = loss_and_grads(lambda p, x, c: run(chunked_memory, p, x, c), p, x, cfg)
        with torch.no_grad():
            os_, _ = run(sequential_memory, p, x, cfg)
            oc, _ = run(chunked_memory, p, x, cfg)
        assert maxdiff(os_, oc) < 1e-12, (kw, maxdiff(os_, oc))
        for name in gs:
            scale = max(1.0, gs[name].abs().max().item())
            assert maxdiff(gs[name], gc[name]) / scale < 1e-8, (kw, name, maxdiff(gs[name], gc[name]))


# ---------------------------------------------------------------------------------------------------
# (e) gradcheck
# ---------------------------------------------------------------------------------------------------

@test
def test_e_gradcheck():
    for impl, kw in ((sequential_memory, dict(depth=2, chunk=2)),
                     (sequential_memory, dict(depth=1, chunk=1, residual=True, activation="silu")),
                     (chunked_memory, dict(depth=2, chunk=3, activation="silu"))):
        cfg, p, x = setup(seed=11, B=1, T=5, d_model=4, n_heads=2, head_dim=2, conv_kernel=2, **kw)
        names = list(p)
        inputs = tuple([x.clone().requires_grad_(True)] +
                       [p[n].clone().requires_grad_(True) for n in names])

        def f(x_, *ps, names=names, cfg=cfg, impl=impl):
            out, st = impl(dict(zip(names, ps)), x_, cfg)
            return out, st["mem_w.1"], st["mem_s.1"]

        assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5), (impl, kw)


# ---------------------------------------------------------------------------------------------------
# (f) causality
# ---------------------------------------------------------------------------------------------------

@test
def test_f_causality():
    for impl in (sequential_memory, chunked_memory):
        cfg, p, x = setup(seed=13, T=20, depth=2, chunk=8)
        ref, _ = impl(p, x, cfg)
        for j in (0, 5, 8, 13, 19):
            x2 = x.clone()
            x2[:, j] += torch.randn(x.shape[0], x.shape[2], dtype=DT)
            out, _ = impl(p, x2, cfg)
            if j > 0:
                assert maxdiff(out[:, :j], ref[:, :j]) < 1e-14, (impl, j)
            assert (out[:, j:] - ref[:, j:]).abs().amax(dim=(0, 2)).min() > 1e-8, (impl, j)


# ---------------------------------------------------------------------------------------------------
# extras: read_only, coefficients, non-finite reporting
# ---------------------------------------------------------------------------------------------------

@test
def test_read_only():
    """read-after-write means y_T = M_T(q_T): a read-only query of token T, with the state after token T
    and the q conv history before it, must reproduce the write path's output at T."""
    for kw in (dict(depth=2, chunk=4), dict(depth=1, chunk=3, residual=True), dict(depth=3, chunk=1)):
        cfg, p, x = setup(seed=17, T=14, **kw)
        for T in (12, 14, 9, 1):
            out, st = sequential_memory(p, x[:, :T], cfg)
            _, st_before = chunked_memory(p, x[:, :T - 1], cfg)
            r = read_only(p, x[:, T - 1:T], cfg, st, q_tail=st_before["tail_q"])
            assert maxdiff(r[:, 0], out[:, T - 1]) < 1e-12, (kw, T)
        # no write: every token reads the same weights, so token 5 read alone (with its conv history)
        # equals token 5 of a longer read
        r1 = read_only(p, x[:, :6], cfg, st)
        tail = x[:, 6 - cfg.conv_kernel:5] @ p["w_q"].t()
        r2 = read_only(p, x[:, 5:6], cfg, st, q_tail=tail)
        assert maxdiff(r1[:, 5], r2[:, 0]) < 1e-12, kw
        # state None -> the learned initial weights W_0; check against one written token with theta = 0
        # and no decay, where M_1 = W_0 + S_1 = W_0
        p0 = dict(p, b_theta=torch.full_like(p["b_theta"], -800.0))
        cfg0 = MemoryConfig(**{**cfg.__dict__, "decay": False})
        o, _ = sequential_memory(p0, x[:, :1], cfg0)
        assert maxdiff(read_only(p0, x[:, :1], cfg0, None), o) < 1e-12


@test
def test_coefficients_match_literal_recurrences():
    g = torch.Generator().manual_seed(0)
    for b, lo in ((16, 0.0), (256, 0.0), (256, 0.9)):
        th = torch.rand(3, b, generator=g, dtype=DT)
        et = lo + (1 - lo) * torch.rand(3, b, generator=g, dtype=DT) * (0.05 if lo == 0 else 1)
        al = torch.rand(3, b, generator=g, dtype=DT) * 0.5
        a, e, f, n, G = chunk_coefficients(th, et, al)
        ga = 1 - al
        # literal recurrences of the spec
        A, E, Fv = torch.zeros_like(th), torch.zeros_like(th), torch.zeros_like(th)
        Nm, Gm = torch.zeros(3, b, b, dtype=DT), torch.zeros(3, b, b, dtype=DT)
        pa, pe, pf = torch.ones(3, dtype=DT), torch.ones(3, dtype=DT), torch.zeros(3, dtype=DT)
        for i in range(b):
            pa, pe = pa * ga[:, i], pe * et[:, i]
            pf = ga[:, i] * pf + pe
            A[:, i], E[:, i], Fv[:, i] = pa, pe, pf
            for j in range(i + 1):
                Nm[:, i, j] = th[:, j] if i == j else et[:, i] * Nm[:, i - 1, j]
                Gm[:, i, j] = (ga[:, i] * Gm[:, i - 1, j] if i > j else 0) + Nm[:, i, j]
        for u, w in ((a, A), (e, E), (f, Fv), (n, Nm), (G, Gm)):
            assert torch.isfinite(u).all() and maxdiff(u, w) < 1e-12 * max(1.0, w.abs().max().item())
    # long chunk in float32, tiny eta: products underflow to 0, never NaN / inf
    a, e, f, n, G = chunk_coefficients(torch.rand(512), torch.full((512,), 1e-3), torch.full((512,), 0.5))
    assert all(torch.isfinite(t).all() for t in (a, e, f, n, G))


@test
def test_nonfinite_reported():
    for impl in (sequential_memory, chunked_memory):
        cfg, p, x = setup(seed=19, T=12, depth=2, chunk=4)
        x = x.clone()
        x[1, 6, 0] = float("nan")
        try:
            impl(p, x, cfg)
            raise AssertionError("no error")
        except FloatingPointError as err:
            assert "batch 1" in str(err) and "position 6" in str(err), str(err)
        # inner-loop blow-up (huge learning rate, float32): reported with its layer
        cfg = MemoryConfig(d_model=8, n_heads=2, head_dim=4, depth=3, chunk=4, theta_max=1e6)
        p = init_params(cfg, torch.Generator().manual_seed(0), torch.float32)
        x = torch.randn(1, 64, 8, generator=torch.Generator().manual_seed(1))
        try:
            impl(p, x, cfg)
            raise AssertionError("no error")
        except FloatingPointError as err:
            assert "layer" in str(err) and "position" in str(err), str(err)


@test
def test_float32_close_to_float64():
    cfg, p, x = setup(seed=23, T=40, depth=2, chunk=16)
    o64, _ = chunked_memory(p, x, cfg)
    o32, _ = chunked_memory({k: v.float() for k, v in p.items()}, x.float(), cfg)
    assert maxdiff(o32.double(), o64) < 1e-4



if __name__ == "__main__":
    sys.exit(run_tests())
