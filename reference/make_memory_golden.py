"""Golden data for the C++ memory test (tests/memory_test.cpp, MemoryGolden): the PyTorch ORACLE
``sequential_memory`` (token by token, autograd inner gradients) on tiny float64 configs.

Run from the repository root (writes tests/data/memory_golden_<name>.json; commit them):

    /usr/bin/python3 reference/make_memory_golden.py

Format, one JSON object per file (floats written by repr, so float64 round-trips exactly; every array
is flat, row-major):
    config   MemoryConfig fields (d_model, n_heads, head_dim, depth, expansion, activation, residual,
             conv_kernel, chunk, theta_max, momentum, decay, l2_eps, rms_eps)
    B, T     batch and sequence length
    x        [B, T, d_model] input;   w  [B, T, d_model] loss weights, L = sum(w * out)
    params   {name: {"shape": [...], "data": [...]}}  (names of neural_memory.py's table)
    out      [B, T, d_model]
    grad_x   dL/dx;   grads  {name: dL/dparam}
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neural_memory import MemoryConfig, init_params, sequential_memory  # noqa: E402

CASES = {
    "depth2_gelu": dict(cfg=dict(d_model=8, n_heads=2, head_dim=4, depth=2, chunk=4, theta_max=0.3), B=2, T=10),
    "depth1_residual_silu": dict(cfg=dict(d_model=8, n_heads=2, head_dim=4, depth=1, chunk=3, theta_max=0.3,
                                          residual=True, activation="silu"), B=2, T=8),
    "depth3_nomomentum": dict(cfg=dict(d_model=6, n_heads=3, head_dim=2, depth=3, chunk=5, theta_max=0.3,
                                       momentum=False, conv_kernel=3), B=1, T=11),
}
CFG_FIELDS = ("d_model", "n_heads", "head_dim", "depth", "expansion", "activation", "residual", "conv_kernel",
              "chunk", "theta_max", "momentum", "decay", "l2_eps", "rms_eps")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    os.makedirs(out_dir, exist_ok=True)
    for i, (name, case) in enumerate(CASES.items()):
        cfg = MemoryConfig(**case["cfg"])
        gen = torch.Generator().manual_seed(100 + i)
        params = init_params(cfg, gen, dtype=torch.float64)
        # Perturb the gate biases and norm so every parameter has a generic value.
        for k in params:
            if k.startswith("b_") or k == "norm_out":
                params[k] = params[k] + 0.1 * torch.randn(params[k].shape, generator=gen, dtype=torch.float64)
        for p in params.values():
            p.requires_grad_(True)
        B, T = case["B"], case["T"]
        x = torch.randn(B, T, cfg.d_model, generator=gen, dtype=torch.float64, requires_grad=True)
        w = torch.randn(B, T, cfg.d_model, generator=gen, dtype=torch.float64)
        out, _ = sequential_memory(params, x, cfg)
        loss = (w * out).sum()
        names = list(params)
        grads = torch.autograd.grad(loss, [x] + [params[n] for n in names], allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip([x] + [params[n] for n in names], grads)]
        doc = {
            "config": {f: getattr(cfg, f) for f in CFG_FIELDS},
            "B": B, "T": T, "x": flat(x), "w": flat(w),
            "params": {n: {"shape": list(params[n].shape), "data": flat(params[n])} for n in names},
            "out": flat(out), "grad_x": flat(grads[0]),
            "grads": {n: flat(g) for n, g in zip(names, grads[1:])},
        }
        path = os.path.join(out_dir, f"memory_golden_{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        print(os.path.relpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
