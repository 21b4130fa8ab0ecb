"""Stability probe of freshly initialised Titans models (reference/README.md, "Finding").

For each preset (configs/<name>.json), seed and input kind (random byte ids, or a slice of a text file),
runs the reference model (models.py, full-sequence form, float32 or float64) over T tokens and reports
the position of the first non-finite value (the memory's FloatingPointError, spec §8; or a non-finite
logit) and the largest Frobenius norm of a memory head's weights ‖W‖ and momentum ‖S‖ over all layers at
a few chunk ends. Overrides of memory fields: --set theta_init=0.01 (repeatable).

    /usr/bin/python3 reference/probe_stability.py --configs titans_mal-small titans_lmm-small \
        --seeds 0 1 2 --tokens 4096 --text data/kjv.txt
One JSON line per run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import neural_memory as nm  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Recorder:
    """Wraps neural_memory._check: at every chunk end records max over (batch, head) of ‖W^l‖_F, ‖S^l‖_F."""

    def __init__(self):
        self.orig = nm._check
        self.layer = 0   # the model layer whose memory runs (set by the Model._memory wrapper)
        self.w = {}      # (model layer, chunk-end position) -> max over (batch, head, l) of ‖W^l‖_F
        self.s = {}

    def __call__(self, cfg, t, what, pos_of, layer=None):
        if what in ("memory weights", "momentum"):
            key = (self.layer, pos_of(0))
            norm = float(t.detach().double().flatten(3).norm(dim=-1).max()) if t.numel() else 0.0
            d = self.w if what == "memory weights" else self.s
            d[key] = max(d.get(key, 0.0), norm)
        return self.orig(cfg, t, what, pos_of, layer)

    def summary(self, marks):
        """max over layers of ‖W‖, ‖S‖ at the last chunk end <= each mark; and overall."""
        out = {}
        for m in marks:
            ws = [v for (l, p), v in self.w.items() if p <= m and p > m - 4 * 64]
            ss = [v for (l, p), v in self.s.items() if p <= m and p > m - 4 * 64]
            if ws:
                out[m] = [float(f"{max(ws):.3g}"), float(f"{max(ss):.3g}")]
        return out


def _mlp_acts(Ws, k, cfg):
    """Inputs of every memory layer for keys k [B, H, n, d] at weights Ws [B, H, out, in]."""
    acts, h = [], k
    for l, W in enumerate(Ws):
        acts.append(h)
        h = h @ W.transpose(-1, -2)
        if l < len(Ws) - 1:
            h = nm._phi(h, cfg)
    return acts, (h + k if cfg.residual else h)


class Diagnose:
    """Replaces Model._memory: feeds the memory chunk by chunk (state carried: the same function, spec §6)
    and records per (model layer, chunk), max over (batch, head):
      align  = λ_max(Σ_j k_j k_jᵀ) / n  (1: all keys of the chunk parallel; ~1/n: orthogonal)
      step   = 2 λ_max(Σ_j G_bj a_j a_jᵀ), a_j = the last memory layer's input for key j at the chunk-start
               weights: the effective step of the chunk's frozen-gradient update on that layer along its
               worst direction (a quadratic in W^L; > 2 overshoots even without the carried momentum)
      rho    = spectral radius of the heavy-ball map of that direction across chunks,
               [[a_b − step_G, f_b], [−step_n, e_b]] (step_n with n_bj in place of G_bj); > 1 grows
      worst head (largest step): sumG = Σ_j G_bj, mean θ, mean η, mean ‖a_j‖² (medians of the first 8 chunks)
      lossr  = Σ_j ‖M_b(k_j) − v_j‖² / Σ_j ‖M_0(k_j) − v_j‖²: the chunk's own loss after / before its
               write (> 1: the write made the memory worse on the very tokens it wrote)."""

    def __init__(self, model):
        self.model, self.cfg, self.layer, self.rows, self.layers = model, model.mem_cfg, -1, [], {}

    def __call__(self, mp, x, state=None):
        self.layer = self.layers.setdefault(mp["w_q"].data_ptr(), len(self.layers))  # MAC: once per segment
        cfg, b = self.cfg, self.cfg.chunk
        if state is None:
            state = nm.init_state(mp, cfg, x.shape[0])
        outs, t = [], 0
        while t < x.shape[1]:
            n = min(b - state["pend_k"].shape[2], x.shape[1] - t)
            piece = x[:, t:t + n]
            q, k, v, th, et, al, _ = nm._project(mp, piece, cfg, state)
            W0 = [state[f"mem_w.{l}"] for l in range(1, cfg.depth + 1)]
            out, new = nm.chunked_memory(mp, piece, cfg, state)
            if n == b:   # a whole chunk
                a_c, e_c, f_c, n_c, G_c = nm.chunk_coefficients(th, et, al)
                acts, pred0 = _mlp_acts(W0, k, cfg)
                W1 = [new[f"mem_w.{l}"] for l in range(1, cfg.depth + 1)]
                _, pred1 = _mlp_acts(W1, k, cfg)
                A = acts[-1]                                              # [B, H, b, in_L]
                gram = k.transpose(-1, -2) @ k
                align = torch.linalg.eigvalsh(gram)[..., -1] / b
                SG = 2 * (A * G_c[..., -1, :, None]).transpose(-1, -2) @ A
                ev, vec = torch.linalg.eigh(SG)
                top = vec[..., -1:]                                        # [B, H, in, 1]
                SN = 2 * (A * n_c[..., -1, :, None]).transpose(-1, -2) @ A
                sn = (top.transpose(-1, -2) @ SN @ top)[..., 0, 0]
                sg = ev[..., -1]
                M = torch.stack([torch.stack([a_c[..., -1] - sg, f_c[..., -1]], -1),
                                 torch.stack([-sn, e_c[..., -1]], -1)], -2)
                rho = torch.linalg.eigvals(M).abs().max(-1).values
                l0 = ((pred0 - v) ** 2).sum((-1, -2))
                l1 = ((pred1 - v) ** 2).sum((-1, -2))
                hmax = int(sg.flatten().argmax())                          # the worst (batch, head)
                self.rows.append((self.layer, state["pos"], float(align.max()), float(sg.max()),
                                  float(rho.max()), float((l1 / l0).max()),
                                  float(max(w.flatten(2).norm(dim=-1).max() for w in W1)),
                                  float(G_c[..., -1, :].sum(-1).flatten()[hmax]),
                                  float(th.mean(-1).flatten()[hmax]), float(et.mean(-1).flatten()[hmax]),
                                  float((A * A).sum(-1).mean(-1).flatten()[hmax]), float(l0.mean())))
            outs.append(out)
            state, t = new, t + n
        return torch.cat(outs, 1), state


def ids_for(kind: str, seed: int, T: int, text: bytes) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + seed)
    if kind == "bytes":
        return torch.randint(0, 256, (1, T), generator=g)
    start = int(torch.randint(0, len(text) - T, (1,), generator=g))
    return torch.tensor(list(text[start:start + T]), dtype=torch.long).unsqueeze(0)


def run(cfg: dict, seed: int, kind: str, T: int, text: bytes, dtype) -> dict:
    model = models.Model(cfg, dtype=dtype, seed=seed)
    rec = _Recorder()
    nm._check = rec
    orig_memory = model._memory
    calls = [0]

    def memory(mp, x, state=None):   # one call per layer (MAC: per segment; its layer is not tracked)
        rec.layer = calls[0]
        calls[0] += 1
        return orig_memory(mp, x, state)
    model._memory = memory
    first_bad, err = None, None
    try:
        with torch.no_grad():
            logits = model(ids_for(kind, seed, T, text))
        bad = (~torch.isfinite(logits)).any(-1)[0].nonzero()
        if len(bad):
            first_bad, err = int(bad[0]), "non-finite logit"
    except FloatingPointError as e:
        err = str(e)
        m = re.search(r"position (\d+)", err)
        n_p = cfg.get("n_persistent", 4) if cfg["arch"] != "titans_mac" else 0
        first_bad = int(m.group(1)) - n_p if m else -1
    finally:
        nm._check = rec.orig
    return {"first_nonfinite": first_bad, "error": err,
            "max_W": float(f"{max(rec.w.values()):.3g}") if rec.w else None,
            "max_S": float(f"{max(rec.s.values()):.3g}") if rec.s else None,
            "W_S_at": rec.summary([64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072])}


def diagnose(cfg: dict, seed: int, kind: str, T: int, text: bytes, dtype):
    """Per (model layer, chunk) rows of Diagnose, summarised per layer over the chunks before a failure."""
    model = models.Model(cfg, dtype=dtype, seed=seed)
    d = Diagnose(model)
    model._memory = d
    err = None
    try:
        with torch.no_grad():
            model(ids_for(kind, seed, T, text))
    except FloatingPointError as e:
        err = str(e)
    per = {}
    for (layer, pos, *vals) in d.rows:
        per.setdefault(layer, []).append((pos, *vals))
    out = {}
    for layer, rows in per.items():
        first = rows[:8]
        def med(i, rr):
            v = sorted(r[i] for r in rr)
            return float(f"{v[len(v) // 2]:.3g}")
        out[layer] = {"chunks": len(rows), "align_med": med(1, rows), "step_med": med(2, rows),
                      "step_first8": med(2, first), "rho_med": med(3, rows), "rho_first8": med(3, first),
                      "lossr_med": med(4, rows), "frac_lossr_gt1": round(sum(r[4] > 1 for r in rows) / len(rows), 2),
                      "W_last": float(f"{rows[-1][5]:.3g}"),
                      "worst_head_first8": {"sumG": med(6, first), "theta": med(7, first), "eta": med(8, first),
                                            "a_sq": med(9, first)}}
    return {"error": err, "layers": out}


def recall(cfg: dict, seed: int, kind: str, T: int, text: bytes, dtype):
    """Does the fresh memory store what it was written? ids = A ‖ A (A = T/2 tokens): per model layer,
    the memory's pre-write loss Σ_j ‖M_{c(j)}(k_j) − v_j‖² (mean over heads) on the second copy divided
    by that on the first copy (< 1: the writes of the first copy help predict the second)."""
    model = models.Model(cfg, dtype=dtype, seed=seed)
    d = Diagnose(model)
    model._memory = d
    half = ids_for(kind, seed, T // 2, text)
    err = None
    try:
        with torch.no_grad():
            model(torch.cat([half, half], 1))
    except FloatingPointError as e:
        err = str(e)
    n_p = cfg.get("n_persistent", 4) if cfg["arch"] != "titans_mac" else 0
    out = {}
    for layer in sorted({r[0] for r in d.rows}):
        rows = [r for r in d.rows if r[0] == layer]
        first = [r[-1] for r in rows if n_p + 32 <= r[1] and r[1] + cfg["memory"]["chunk"] <= n_p + T // 2]
        second = [r[-1] for r in rows if r[1] >= n_p + T // 2 + 32]
        if first and second:
            out[layer] = float(f"{(sum(second) / len(second)) / (sum(first) / len(first)):.3g}")
    return {"error": err, "recall_loss_ratio": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", required=True, help="preset names (configs/NAME.json) or paths")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--kinds", nargs="+", default=["bytes", "text"])
    ap.add_argument("--text", default=os.path.join(_ROOT, "data", "kjv.txt"))
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--diagnose", action="store_true", help="per-chunk mechanism numbers (class Diagnose)")
    ap.add_argument("--recall", action="store_true", help="A ‖ A: the memory's loss on the repeat (recall)")
    ap.add_argument("--set", action="append", default=[], help="memory field override, e.g. theta_init=0.01")
    a = ap.parse_args()
    torch.set_num_threads(1)
    text = open(a.text, "rb").read() if "text" in a.kinds else b""
    dtype = torch.float32 if a.dtype == "f32" else torch.float64
    for name in a.configs:
        path = name if name.endswith(".json") else os.path.join(_ROOT, "configs", name + ".json")
        cfg = json.load(open(path))
        for kv in a.set:
            k, v = kv.split("=", 1)
            cfg["memory"][k] = json.loads(v)
        for kind in a.kinds:
            for seed in a.seeds:
                r = (diagnose if a.diagnose else recall if a.recall else run)(cfg, seed, kind, a.tokens, text, dtype)
                print(json.dumps({"config": name, "set": a.set, "kind": kind, "seed": seed, "T": a.tokens,
                                  "dtype": a.dtype, **r}), flush=True)


if __name__ == "__main__":
    main()
