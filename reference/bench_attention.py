"""Performance peer of `titans bench attention`: causal (optionally sliding-window) softmax attention as a
competent PyTorch 1.13 user writes it -- batched matmul, masked_fill, softmax, matmul -- forward and
forward + backward, float32.

    /usr/bin/python3 reference/bench_attention.py --seq 4096 --heads 4 --head-dim 64 --window 512 --threads 2

One JSON line on stdout:
    {"forward_seconds", "step_seconds", "max_rss_mib", "blas", ...shape and environment fields}
or, when the T x T score matrices would not fit in memory, {"skipped": reason, ...}.
forward_seconds: median over --repeats (after --warmup) of the forward under torch.no_grad();
step_seconds: the same for forward + backward of <out, R> (R fixed, random) to q, k and v.
q, k, v come as [B, T, H*d] (a projection's output) and are viewed as [B, H, T, d], as a model does.

Threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS are set from --threads before torch is imported, and
torch.set_num_threads(--threads). The engine's command puts reference/setup_openblas.sh's OpenBLAS on
LD_LIBRARY_PATH (see bench_neural_memory.py on why the default BLAS would be an unfair peer).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--window", type=int, default=0, help="sliding window (0: full causal)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--memory-fraction", type=float, default=0.5,
                    help="skip when the estimated peak exceeds this fraction of MemAvailable")
    return ap.parse_args(argv)


def mem_available_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def attention(q, k, v, hidden, scale):
    """softmax(scale * q k^T, masked) v over [B, H, T, d]."""
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    s = s.masked_fill(hidden, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def main():
    a = parse_args()
    B, T, H, d = a.batch, a.seq, a.heads, a.head_dim
    # Peak T x T float32 tensors alive in forward + backward: the scores, the scaled and the masked
    # scores, the softmax (saved) and, in backward, the softmax's and the scores' gradients.
    need = 5 * B * H * T * T * 4
    base = {"batch": B, "seq": T, "heads": H, "head_dim": d, "window": a.window, "threads": a.threads}
    if need > a.memory_fraction * mem_available_bytes():
        base["skipped"] = (f"needs ~{need / 2**30:.0f} GiB of T x T scores, "
                           f"{mem_available_bytes() / 2**30:.0f} GiB available")
        print(json.dumps(base), flush=True)
        return 0
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    global torch
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_neural_memory import loaded_blas

    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    x = [torch.randn(B, T, H * d, generator=g).requires_grad_() for _ in range(3)]
    proj = torch.randn(B, T, H * d, generator=g)
    i = torch.arange(T).unsqueeze(1)
    j = torch.arange(T).unsqueeze(0)
    hidden = j > i
    if a.window > 0:
        hidden |= (i - j) >= a.window
    scale = d ** -0.5

    def forward():
        q, k, v = (t.view(B, T, H, d).transpose(1, 2) for t in x)
        return attention(q, k, v, hidden, scale).transpose(1, 2).reshape(B, T, H * d)

    def step():
        for t in x:
            t.grad = None
        (forward() * proj).sum().backward()

    def no_grad_forward():
        with torch.no_grad():
            forward()

    times = {}
    for name, f in (("forward_seconds", no_grad_forward), ("step_seconds", step)):
        for _ in range(a.warmup):
            f()
        ts = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        times[name] = round(statistics.median(ts), 4)
    print(json.dumps(dict(base, **times, impl="torch-matmul-masked_fill-softmax", torch=torch.__version__,
                          torch_threads=torch.get_num_threads(), blas=loaded_blas(),
                          loadavg_1min_at_start=round(os.getloadavg()[0], 2),
                          max_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
