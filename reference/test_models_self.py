"""Self-tests of the model reference (models.py) and of the dump cross-check (test_models.py). Run:

    /usr/bin/python3 reference/test_models_self.py          # last line "N passed, M failed"

* parameter names/shapes: named_parameters() == param_shapes(cfg) for every architecture
* causality of every architecture (perturb token j: logits before j unchanged, logits at j changed)
* MAC's mask leak test: letting query i see h_j for j > i breaks the causality check (the test has teeth)
* infini: delta and linear rules differ once a second segment exists, agree within the first segment
* titans_lmm at model level: chunked memory == the token-by-token oracle (chunk 1 and 4), logits and grads
* block-wise sliding-window attention == the explicit full mask (with and without a prefix)
* attention of every mixer == a per-query loop over the visible keys (independent formulation)
* directional finite differences (float64) == autograd for every architecture
* float32 == float64 to float32 rounding; bptt_segments changes gradients only, never logits
* the dump pipeline: synthetic dumps of every architecture pass; a corrupted gradient fails naming it
* safetensors reader: F64/F32/BF16/I32/I64 round trip
All in float64 unless stated; exit status 1 on any failure.
"""
import copy
import math
import os
import random
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from models import Model, ModelConfig, param_shapes, read_safetensors, write_safetensors  # noqa: E402
import test_models  # noqa: E402

torch.set_num_threads(min(4, torch.get_num_threads()))
DT = torch.float64
from testing import test, run_tests  # noqa: E402


def configs(**over):
    out = []
    for label, cd in test_models.tiny_configs():
        cd = copy.deepcopy(cd)
        cd.update(over)
        out.append((label, cd))
    return out


def make(cd, dtype=DT, seed=0, **kw):
    cfg = ModelConfig.from_dict(cd)
    return Model(cfg, test_models.perturbed_params(cfg, seed, DT), dtype=dtype, **kw)


def ids_for(cfg, B=2, T=37, seed=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg.vocab_size, (B, T), generator=g)


def causality_violations(model, ids, js):
    """-> (max change of logits before j over js, min over js of the max change at j)."""
    with torch.no_grad():
        base = model(ids)
        worst_before, min_at = 0.0, float("inf")
        for j in js:
            ids2 = ids.clone()
            ids2[:, j] = (ids2[:, j] + 1 + j) % model.cfg.vocab_size
            out = model(ids2)
            if j > 0:
                worst_before = max(worst_before, float((out[:, :j] - base[:, :j]).abs().max()))
            min_at = min(min_at, float((out[:, j] - base[:, j]).abs().max()))
    return worst_before, min_at


@test
def test_param_names():
    for label, cd in configs() + [("tied", dict(test_models.TINY, arch="swa", tie_embeddings=True)),
                                  ("mac_np0", dict(test_models.TINY, arch="titans_mac", n_persistent=0)),
                                  ("mal_depth1", dict(test_models.TINY, arch="titans_mal",
                                                      memory=dict(depth=1, chunk=4)))]:
        m = make(cd)
        got = {n: tuple(p.shape) for n, p in m.named_parameters()}
        want = dict(param_shapes(m.cfg))
        assert got == want, (label, set(got) ^ set(want))
    cfg = ModelConfig.from_dict(dict(test_models.TINY, arch="titans_mac", tie_embeddings=True))
    names = set(param_shapes(cfg))
    assert "lm_head" not in names and "layers.1.persistent" in names and "layers.0.gate.w_o" in names
    assert cfg.ffn_dim == 96, cfg.ffn_dim      # floor(8*32/3) = 85 -> 96
    bad = dict(test_models.TINY, arch="swa", windw=3)
    try:
        ModelConfig.from_dict(bad)
        raise AssertionError("unknown key accepted")
    except ValueError as e:
        assert "windw" in str(e)


@test
def test_causality_every_arch():
    for label, cd in configs():
        m = make(cd)
        ids = ids_for(m.cfg)
        js = [0, 3, 15, 16, 17, 22, 31, 32, 36]
        before, at = causality_violations(m, ids, js)
        print(f"    {label:<16} max change before j {before:.1e}, min change at j {at:.1e}")
        assert before < 1e-12, (label, before)
        assert at > 1e-8, (label, at)


@test
def test_mac_mask_leak_detected():
    cd = dict(test_models.TINY, arch="titans_mac")
    m = make(cd)
    ids = ids_for(m.cfg)
    m._mac_leak = True          # query i sees h_j for every j of its segment
    before, _ = causality_violations(m, ids, [5, 20, 35])
    print(f"    leaky mask: max change before j {before:.1e}")
    assert before > 1e-6, before
    m._mac_leak = False
    before, _ = causality_violations(m, ids, [5, 20, 35])
    assert before < 1e-12, before


@test
def test_infini_delta_vs_linear():
    base = dict(test_models.TINY, arch="infini")
    lin = make(dict(base, infini={"update": "linear"}))
    dl = make(dict(base, infini={"update": "delta"}))
    ids = ids_for(lin.cfg, T=40)
    with torch.no_grad():
        a, b = lin(ids), dl(ids)
    S = lin.cfg.segment
    first = float((a[:, :S] - b[:, :S]).abs().max())
    # the second segment reads M_1, equal for both rules (M_0 = 0: the delta term vanishes); differences
    # start at the third segment (M_2)
    second = float((a[:, S:2 * S] - b[:, S:2 * S]).abs().max())
    third = float((a[:, 2 * S:] - b[:, 2 * S:]).abs().max())
    print(f"    |linear - delta|: segment 1 {first:.1e}, segment 2 {second:.1e}, segment 3 {third:.1e}")
    assert first < 1e-14 and second < 1e-12 and third > 1e-6
    # the memory term matters at all: beta -> -inf switches it off, changing segment >= 2
    off = make(dict(base, infini={"update": "linear"}))
    with torch.no_grad():
        for i in range(off.cfg.n_layers):
            getattr(getattr(off.layers, str(i)).attn, "beta").fill_(-1e4)
        c = off(ids)
    assert float((c[:, S:] - a[:, S:]).abs().max()) > 1e-6


def loss_grads(model, ids, seed=11):
    logits = model(ids)
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(logits.shape, generator=g, dtype=torch.float64).to(logits.dtype)
    model.zero_grad()
    (logits * r).sum().backward()
    return logits.detach(), {n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
                             for n, p in model.named_parameters()}


def rel(a, b):
    return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))


@test
def test_lmm_chunked_equals_sequential_oracle():
    for chunk in (1, 4):
        cd = dict(test_models.TINY, arch="titans_lmm", memory=dict(chunk=chunk, depth=2, theta_max=0.3))
        ids = ids_for(ModelConfig.from_dict(cd), B=2, T=21)
        l1, g1 = loss_grads(make(cd, memory_impl="chunked"), ids)
        l2, g2 = loss_grads(make(cd, memory_impl="sequential"), ids)
        worst = max(rel(g1[n], g2[n]) for n in g1)
        print(f"    chunk {chunk}: logits {rel(l1, l2):.1e}, grads (worst relative) {worst:.1e}")
        assert rel(l1, l2) < 1e-12 and worst < 1e-10


@test
def test_mac_mag_mal_sequential_oracle():
    for arch in ("titans_mac", "titans_mag", "titans_mal"):
        cd = dict(test_models.TINY, arch=arch, n_layers=1, memory=dict(chunk=3, depth=2, theta_max=0.3))
        ids = ids_for(ModelConfig.from_dict(cd), B=1, T=21)
        l1, g1 = loss_grads(make(cd, memory_impl="chunked"), ids)
        l2, g2 = loss_grads(make(cd, memory_impl="sequential"), ids)
        worst = max(rel(g1[n], g2[n]) for n in g1)
        print(f"    {arch}: logits {rel(l1, l2):.1e}, grads {worst:.1e}")
        assert rel(l1, l2) < 1e-12 and worst < 1e-10


@test
def test_blockwise_window_equals_full_mask():
    g = torch.Generator().manual_seed(3)
    for T, W, Np in ((37, 8, 0), (37, 8, 4), (64, 16, 3), (10, 4, 2), (33, 1, 2)):
        q, k, v = (torch.randn(2, 3, T, 8, generator=g, dtype=DT) for _ in range(3))
        pk, pv = (torch.randn(1, 3, Np, 8, generator=g, dtype=DT) for _ in range(2))
        a = models.local_attention(q, k, v, W, pk, pv, block=True)
        b = models.local_attention(q, k, v, W, pk, pv, block=False)
        assert float((a - b).abs().max()) < 1e-13, (T, W, Np)


def loop_attention(q, k, v, visible, pk=None, pv=None):
    """Per (batch, head, query) loop: softmax over the visible keys (+ prefix). q [B,H,Tq,d]."""
    B, H, Tq, d = q.shape
    out = torch.zeros_like(q)
    for b in range(B):
        for h in range(H):
            for i in range(Tq):
                keys = [k[b, h, j] for j in range(k.shape[2]) if visible(i, j)]
                vals = [v[b, h, j] for j in range(k.shape[2]) if visible(i, j)]
                if pk is not None:
                    keys = list(pk[0, h]) + keys
                    vals = list(pv[0, h]) + vals
                s = torch.stack([q[b, h, i] @ kk for kk in keys]) / math.sqrt(d)
                w = torch.exp(s - s.max())
                w = w / w.sum()
                out[b, h, i] = sum(wj * vj for wj, vj in zip(w, vals))
    return out


@test
def test_attention_against_loop():
    g = torch.Generator().manual_seed(4)
    T, W = 13, 4
    q, k, v = (torch.randn(1, 2, T, 6, generator=g, dtype=DT) for _ in range(3))
    pk, pv = (torch.randn(1, 2, 3, 6, generator=g, dtype=DT) for _ in range(2))
    full = models.local_attention(q, k, v, 0)
    assert float((full - loop_attention(q, k, v, lambda i, j: j <= i)).abs().max()) < 1e-13
    win = models.local_attention(q, k, v, W, pk, pv)
    ref = loop_attention(q, k, v, lambda i, j: j <= i and i - j < W, pk, pv)
    assert float((win - ref).abs().max()) < 1e-13


@test
def test_rope_convention():
    x = torch.randn(1, 1, 5, 8, dtype=DT)
    pos = torch.arange(5) + 3
    y = models.rope(x, pos, 10000.0)
    for t in range(5):
        for i in range(4):
            ang = (t + 3) * 10000.0 ** (-2 * i / 8)
            a, b = x[0, 0, t, i], x[0, 0, t, i + 4]
            assert abs(y[0, 0, t, i] - (a * math.cos(ang) - b * math.sin(ang))) < 1e-14
            assert abs(y[0, 0, t, i + 4] - (b * math.cos(ang) + a * math.sin(ang))) < 1e-14
    # relative: <R_p q, R_r k> depends on p - r only
    q, k = torch.randn(8, dtype=DT), torch.randn(8, dtype=DT)
    d1 = models.rope(q.view(1, 8), torch.tensor([7]), 1e4) @ models.rope(k.view(1, 8), torch.tensor([3]), 1e4).t()
    d2 = models.rope(q.view(1, 8), torch.tensor([14]), 1e4) @ models.rope(k.view(1, 8), torch.tensor([10]), 1e4).t()
    assert abs(float(d1 - d2)) < 1e-12


@test
def test_finite_differences():
    for label, cd in configs(n_layers=1, vocab_size=32, d_model=16, n_heads=2, head_dim=8, window=4,
                             segment=5, n_persistent=2):
        if "memory" in cd:
            cd["memory"] = dict(chunk=3, depth=2, theta_max=0.3)
        m = make(cd, seed=3)
        ids = ids_for(m.cfg, B=2, T=12)
        _, grads = loss_grads(m, ids)
        g = torch.Generator().manual_seed(9)
        dirs = {n: torch.randn(p.shape, generator=g, dtype=DT) for n, p in m.named_parameters()}
        r = torch.randn(2, 12, 32, generator=torch.Generator().manual_seed(11), dtype=DT)
        def loss_at(step):
            with torch.no_grad():
                for n, p in m.named_parameters():
                    p.add_(step * dirs[n])
                val = float((m(ids) * r).sum())
                for n, p in m.named_parameters():
                    p.sub_(step * dirs[n])
            return val

        def central(eps):
            return (loss_at(eps) - loss_at(-eps)) / (2 * eps)

        eps = 1e-5
        fd = (4 * central(eps / 2) - central(eps)) / 3      # Richardson: O(eps^4)
        an = sum(float((grads[n] * dirs[n]).sum()) for n in grads)
        err = abs(fd - an) / max(1.0, abs(an))
        print(f"    {label:<16} autograd {an:+.6e}, finite differences {fd:+.6e}, rel {err:.1e}")
        assert err < 1e-7, (label, err)
        zero = [n for n, t in grads.items() if float(t.abs().max()) == 0.0]
        assert not zero, (label, zero)


@test
def test_float32_close_to_float64():
    for label, cd in configs():
        m64 = make(cd, DT)
        m32 = make(cd, torch.float32)
        ids = ids_for(m64.cfg)
        l64, g64 = loss_grads(m64, ids)
        l32, g32 = loss_grads(m32, ids)
        worst = max(rel(g32[n].double(), g64[n]) for n in g64)
        assert rel(l32.double(), l64) < 1e-5 and worst < 1e-4, (label, rel(l32.double(), l64), worst)


@test
def test_bptt_truncation_changes_grads_only():
    base = dict(test_models.TINY, arch="infini", segment=8)
    full = make(dict(base, infini={"update": "delta", "bptt_segments": 0}))
    trunc = make(dict(base, infini={"update": "delta", "bptt_segments": 2}))
    ids = ids_for(full.cfg, T=40)
    l1, g1 = loss_grads(full, ids)
    l2, g2 = loss_grads(trunc, ids)
    assert rel(l1, l2) == 0.0
    assert max(rel(g1[n], g2[n]) for n in g1) > 1e-8


@test
def test_dump_pipeline():
    with tempfile.TemporaryDirectory() as d:
        paths = test_models.make_dumps(d)
        import io
        buf = io.StringIO()
        assert test_models.main_quiet(paths, buf) == 0, buf.getvalue()[-2000:]
        # corrupt one gradient: the check must fail and name it
        p = os.path.join(d, "titans_mag_f64.safetensors")
        t, meta = read_safetensors(p)
        t["grad.layers.1.memory.mem_w0.2"][0, 0, 0] += 1e-6
        write_safetensors(p, t, meta)
        buf = io.StringIO()
        rc = test_models.main_quiet([p], buf)
        assert rc == 1 and "FAIL" in buf.getvalue() and "grad.layers.1.memory.mem_w0.2" in buf.getvalue()
        # f32 tolerance: a 1e-3 relative error fails, rounding-level noise passes
        p = os.path.join(d, "swa_f32.safetensors")
        t, meta = read_safetensors(p)
        t["logits"] = t["logits"] * (1 + 1e-6)
        write_safetensors(p, t, meta)
        assert test_models.main_quiet([p], io.StringIO()) == 0
        t["grad.embed"][3, 3] += 1e-3 * max(1.0, float(t["grad.embed"].abs().max()))
        write_safetensors(p, t, meta)
        assert test_models.main_quiet([p], io.StringIO()) == 1
        # malformed: a missing gradient is a failure, a missing ids a malformed dump
        del t["grad.norm_f"]
        write_safetensors(p, t, meta)
        buf = io.StringIO()
        assert test_models.main_quiet([p], buf) == 1 and "grad.norm_f" in buf.getvalue()
        del t["ids"]
        write_safetensors(p, t, meta)
        assert test_models.main_quiet([p], io.StringIO()) == 2


@test
def test_safetensors_roundtrip():
    g = torch.Generator().manual_seed(1)
    t = {"a": torch.randn(3, 4, generator=g, dtype=DT), "b": torch.randn(5, generator=g),
         "c": torch.randn(2, 2, generator=g).to(torch.bfloat16), "i": torch.arange(6, dtype=torch.int32).view(2, 3),
         "l": torch.arange(4, dtype=torch.int64), "e": torch.zeros(0, 3)}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.safetensors")
        write_safetensors(p, t, {"config": "{}"})
        back, meta = read_safetensors(p)
        if models._stio is not None:      # the private reader reads the io engineer's files too
            back2, meta2 = models._read_private(p)
            assert meta2 == meta and all(torch.equal(back2[k], back[k]) for k in t)
    assert meta["config"] == "{}"
    for k in t:
        assert back[k].dtype == t[k].dtype and torch.equal(back[k], t[k]), k



if __name__ == "__main__":
    sys.exit(run_tests())
