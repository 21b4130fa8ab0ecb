"""Cross-check of the C++ models against the PyTorch reference (reference/models.py).

    /usr/bin/python3 reference/test_models.py DUMP [DUMP ...]
    /usr/bin/python3 reference/test_models.py --make-dumps DIR     # synthetic dumps (tests this script)

A DUMP is one safetensors file written by the C++ ``model_dump`` tool:
    metadata  {"config": <the model's config JSON>}
    param.<name>  every parameter (f64 or f32; the dump's dtype is param.embed's)
    grad.<name>   the C++ gradient of  loss = sum(logits * r)  for every parameter
    ids           I32 [B, T];   r  [B, T, V];   logits  [B, T, V]  (the C++ forward)
The reference loads the parameters in the dump's dtype (``--ref-dtype f64`` computes it in float64
instead), computes logits and the gradients of sum(logits * r), and compares every tensor:
    err = max|cpp - ref| / max(1, max|ref|)   must be <= 1e-8 (float64 dump) or 1e-4 (float32 dump).
Prints one table per dump; exit status 1 if any tensor of any dump fails (the failures are named on the
last lines), 2 on a malformed dump.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import (ModelConfig, Model, init_params, param_shapes, read_safetensors,  # noqa: E402
                    write_safetensors)

TOL = {torch.float64: 1e-8, torch.float32: 1e-4}


class DumpError(Exception):
    pass


def reference_outputs(cfg: ModelConfig, params, ids, r, dtype, memory_impl="chunked"):
    """-> (logits, {name: grad}) of the reference for loss = sum(logits * r)."""
    model = Model(cfg, params, dtype=dtype, memory_impl=memory_impl)
    logits = model(ids.long())
    (logits * r.to(dtype)).sum().backward()
    grads = {}
    for name, p in model.named_parameters():
        grads[name] = p.grad.detach() if p.grad is not None else torch.zeros_like(p)
    return logits.detach(), grads


def compare(name, cpp: torch.Tensor, ref: torch.Tensor, tol):
    if tuple(cpp.shape) != tuple(ref.shape):
        return dict(name=name, shape=tuple(cpp.shape), ok=False, note=f"shape {tuple(cpp.shape)} != "
                    f"reference {tuple(ref.shape)}", scale=float("nan"), diff=float("nan"), err=float("nan"))
    a, b = cpp.to(torch.float64), ref.to(torch.float64)
    scale = float(b.abs().max()) if b.numel() else 0.0
    diff = float((a - b).abs().max()) if b.numel() else 0.0
    if not bool(torch.isfinite(a).all()):
        diff = float("inf")
    err = diff / max(1.0, scale)
    return dict(name=name, shape=tuple(cpp.shape), scale=scale, diff=diff, err=err, ok=err <= tol, note="")


def check_dump(path, ref_dtype=None, memory_impl="chunked", out=sys.stdout):
    """-> list of failed tensor names (empty = pass). Raises DumpError on a malformed dump."""
    try:
        tensors, meta = read_safetensors(path)
    except (OSError, ValueError) as e:
        raise DumpError(f"{path}: {e}")
    if "config" not in meta:
        raise DumpError(f"{path}: no 'config' in the metadata")
    try:
        cfg = ModelConfig.from_dict(json.loads(meta["config"]))
    except (ValueError, TypeError) as e:
        raise DumpError(f"{path}: config: {e}")
    for key in ("ids", "r", "logits", "param.embed"):
        if key not in tensors:
            raise DumpError(f"{path}: missing tensor {key}")
    dtype = tensors["param.embed"].dtype
    if dtype not in TOL:
        raise DumpError(f"{path}: parameters must be F32 or F64, not {dtype}")
    tol = TOL[dtype]
    params = {k[6:]: v for k, v in tensors.items() if k.startswith("param.")}
    names = list(param_shapes(cfg))
    missing = [n for n in names if n not in params]
    extra = sorted(n for n in params if n not in names)
    if missing or extra:
        raise DumpError(f"{path}: parameters missing {missing[:6]}, unexpected {extra[:6]}")
    ids, r = tensors["ids"], tensors["r"]
    rd = ref_dtype or dtype
    logits, grads = reference_outputs(cfg, params, ids, r, rd, memory_impl)

    rows = [compare("logits", tensors["logits"], logits, tol)]
    for n in names:
        g = tensors.get("grad." + n)
        if g is None:
            rows.append(dict(name="grad." + n, shape=tuple(params[n].shape), scale=float("nan"),
                             diff=float("nan"), err=float("nan"), ok=False, note="missing in the dump"))
        else:
            rows.append(compare("grad." + n, g, grads[n], tol))
    for k in sorted(tensors):
        if k.startswith("grad.") and k[5:] not in names:
            rows.append(dict(name=k, shape=tuple(tensors[k].shape), scale=float("nan"), diff=float("nan"),
                             err=float("nan"), ok=False, note="not a parameter of this model"))

    B, T = ids.shape
    print(f"== {path}: arch {cfg.arch}, dump {str(dtype)[6:]}, reference {str(rd)[6:]}, B {B}, T {T}, "
          f"tol {tol:g} (err = max|cpp-ref| / max(1, max|ref|))", file=out)
    w = max(len(r_["name"]) for r_ in rows)
    print(f"  {'tensor':<{w}}  {'shape':<16} {'max|ref|':>10} {'max|diff|':>10} {'err':>10}  result", file=out)
    for r_ in rows:
        shape = "x".join(str(s) for s in r_["shape"])
        print(f"  {r_['name']:<{w}}  {shape:<16} {r_['scale']:>10.3e} {r_['diff']:>10.3e} {r_['err']:>10.3e}  "
              f"{'ok' if r_['ok'] else 'FAIL'}{(' ' + r_['note']) if r_['note'] else ''}", file=out)
    failed = [r_["name"] for r_ in rows if not r_["ok"]]
    print(f"  {len(rows) - len(failed)}/{len(rows)} tensors ok", file=out)
    return failed


# ---------------------------------------------------------------------------------------------------
# Synthetic dumps (the model_dump format, written from the reference itself)
# ---------------------------------------------------------------------------------------------------

TINY = dict(vocab_size=256, d_model=32, n_layers=2, n_heads=2, head_dim=16, window=16, segment=16,
            n_persistent=4, memory=dict(chunk=4, depth=2, theta_max=0.3))


def tiny_configs():
    """(label, config dict) for every architecture at the tiny shape (infini: both rules)."""
    out = []
    for arch in ("transformer", "swa", "titans_lmm", "titans_mac", "titans_mag", "titans_mal"):
        out.append((arch, dict(TINY, arch=arch)))
    for upd in ("linear", "delta"):
        out.append((f"infini_{upd}", dict(TINY, arch="infini", infini={"update": upd, "bptt_segments": 0})))
    return out


def perturbed_params(cfg: ModelConfig, seed, dtype):
    """init_params plus noise on the constant inits (norms, biases, beta) so every parameter matters."""
    p = init_params(cfg, seed, torch.float64)
    g = torch.Generator().manual_seed(seed + 1000)
    for n, t in p.items():
        last = n.rsplit(".", 1)[-1]
        if last.startswith("norm") or last.startswith("b_") or last == "beta":
            p[n] = t + 0.2 * torch.randn(t.shape, generator=g, dtype=torch.float64)
    return {n: t.to(dtype) for n, t in p.items()}


def make_dump(path, cfg_dict, dtype=torch.float64, B=2, T=37, seed=0):
    cfg = ModelConfig.from_dict(cfg_dict)
    params = perturbed_params(cfg, seed, dtype)
    g = torch.Generator().manual_seed(seed + 7)
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=g, dtype=torch.int32)
    r = torch.randn(B, T, cfg.vocab_size, generator=g, dtype=torch.float64).to(dtype)
    logits, grads = reference_outputs(cfg, params, ids, r, dtype)
    t = {"ids": ids, "r": r, "logits": logits}
    for n, v in params.items():
        t["param." + n] = v
        t["grad." + n] = grads[n]
    write_safetensors(path, t, {"config": json.dumps(cfg.to_dict())})


def make_dumps(directory):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for label, cd in tiny_configs():
        for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            p = os.path.join(directory, f"{label}_{tag}.safetensors")
            make_dump(p, cd, dt)
            paths.append(p)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dumps", nargs="*", help="model_dump safetensors files")
    ap.add_argument("--make-dumps", metavar="DIR", help="write synthetic dumps of every architecture to DIR")
    ap.add_argument("--ref-dtype", choices=("dump", "f64"), default="dump",
                    help="dtype of the reference computation (default: the dump's)")
    ap.add_argument("--memory-impl", choices=("chunked", "sequential"), default="chunked",
                    help="neural memory of the reference: the chunked peer or the token-by-token oracle")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.make_dumps:
        for p in make_dumps(a.make_dumps):
            print(p)
        if not a.dumps:
            return 0
    if not a.dumps:
        ap.error("no dump given")
    rd = torch.float64 if a.ref_dtype == "f64" else None
    return run(a.dumps, sys.stdout, rd, a.memory_impl)


def run(paths, out=sys.stdout, ref_dtype=None, memory_impl="chunked"):
    """Check every dump; -> exit status (0 pass, 1 a tensor failed, 2 a dump was malformed)."""
    failures, bad = [], []
    for p in paths:
        try:
            failures += [f"{p}: {n}" for n in check_dump(p, ref_dtype, memory_impl, out)]
        except DumpError as e:
            bad.append(str(e))
            print(f"== MALFORMED {e}", file=out)
        except FloatingPointError as e:
            failures.append(f"{p}: reference computation: {e}")
    for f in failures:
        print(f"FAIL {f}", file=out)
    for b in bad:
        print(f"MALFORMED {b}", file=out)
    print(f"{len(paths) - len(bad)} dumps checked, {len(failures)} tensors failed, {len(bad)} malformed",
          file=out)
    return 2 if bad else (1 if failures else 0)


def main_quiet(paths, out):
    return run(paths, out)

if __name__ == "__main__":
    sys.exit(main())
