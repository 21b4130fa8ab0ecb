"""Performance-peer benchmark: the chunked PyTorch memory (neural_memory.chunked_memory), forward + backward.

    /usr/bin/python3 reference/bench_neural_memory.py --threads 1,2
    /usr/bin/python3 reference/bench_neural_memory.py --batch 8 --seq 2048 --d-model 256 --heads 4 \
        --depth 2 --chunks 16,64 --threads 1,2 --repeats 3

One JSON line per (chunk, threads) on stdout:
    {"chunk", "threads", "tokens_per_s", "seconds", "max_rss_mib", ...shape and environment fields}
`seconds` is the median over --repeats timed steps (after --warmup untimed ones) of one step =
forward over [batch, seq, d_model] float32 + backward of a fixed random projection of the output to all
parameters (and to x unless --no-input-grad). tokens_per_s = batch * seq / seconds.

Each configuration runs in a fresh child process with OMP_NUM_THREADS / OPENBLAS_NUM_THREADS /
MKL_NUM_THREADS = N and torch.set_num_threads(N).

BLAS: Debian's python3-torch is built against the generic BLAS interface, and by default that resolves to
netlib's *reference* BLAS (a few GFLOP/s) -- not what a competent PyTorch user would run. With
--blas auto (default) the children load OpenBLAS from --openblas-dir (default
$TITANS_OPENBLAS_DIR or ~/.cache/titans-reference/openblas, filled by reference/setup_openblas.sh) via
LD_LIBRARY_PATH when it is there, else the system BLAS (with a warning). The "blas" field of each line
names the libblas the child actually loaded.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OPENBLAS = os.environ.get("TITANS_OPENBLAS_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "titans-reference", "openblas")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=2048)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=None, help="default d_model / heads")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--activation", default="gelu", choices=["gelu", "silu"])
    ap.add_argument("--chunks", default="16,64", help="comma-separated chunk sizes")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--theta-init", type=float, default=0.03,
                    help="theta/theta_max at init (default 0.03: the spec's suggested 0.1 diverges to NaN "
                         "on random data at this shape, see README)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-input-grad", action="store_true", help="do not back-propagate to x")
    ap.add_argument("--forward-only", action="store_true", help="time the forward pass only (no_grad)")
    ap.add_argument("--no-check", action="store_true", help="disable the non-finite checks")
    ap.add_argument("--blas", default="auto", choices=["auto", "system", "openblas"])
    ap.add_argument("--openblas-dir", default=DEFAULT_OPENBLAS)
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_chunk", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_nthreads", type=int, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def loaded_blas():
    """Path of the libblas / openblas / mkl library mapped into this process."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return "unknown"
    hits = sorted(p for p in libs if any(s in os.path.basename(p) for s in ("blas", "mkl_rt", "mkl_core")))
    return ",".join(hits) if hits else "none-mapped"


def peer_env(a):
    """The workers' environment: OpenBLAS from reference/setup_openblas.sh first on the library path
    (per --blas); None, with a message, when --blas openblas and it is missing."""
    env = dict(os.environ)
    have_openblas = os.path.exists(os.path.join(a.openblas_dir, "libblas.so.3"))
    if a.blas == "openblas" and not have_openblas:
        print(f"no OpenBLAS in {a.openblas_dir}: run reference/setup_openblas.sh", file=sys.stderr)
        return None
    if a.blas in ("auto", "openblas") and have_openblas:
        env["LD_LIBRARY_PATH"] = a.openblas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH")
                                                  else "")
    elif a.blas == "auto":
        print(f"warning: no OpenBLAS in {a.openblas_dir}; using the system BLAS (on Debian's python3-torch "
              "that may be netlib's reference BLAS: run reference/setup_openblas.sh)", file=sys.stderr)
    return env


def run_worker(script, env, threads, extra):
    """Runs `script` again as a worker with `threads` threads (this process's arguments + extra)."""
    child_env = dict(env, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                     MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(script)] + sys.argv[1:] + ["--_worker"] + extra + [
        "--_nthreads", str(threads)]
    return subprocess.run(cmd, env=child_env).returncode


def environment_fields(load0):
    """The fields every peer result line carries about where it ran."""
    import torch
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(), "blas": loaded_blas(),
            "loadavg_1min_at_start": load0, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def worker(a):
    import torch
    sys.path.insert(0, HERE)
    from neural_memory import MemoryConfig, init_params, chunked_memory

    torch.set_num_threads(a._nthreads)
    cfg = MemoryConfig(d_model=a.d_model, n_heads=a.heads, head_dim=a.head_dim, depth=a.depth,
                       activation=a.activation, chunk=a._chunk, theta_init=a.theta_init,
                       check_finite=not a.no_check)
    g = torch.Generator().manual_seed(a.seed)
    params = {k: v.requires_grad_(not a.forward_only) for k, v in init_params(cfg, g, torch.float32).items()}
    x = torch.randn(a.batch, a.seq, a.d_model, generator=g)
    x.requires_grad_(not (a.forward_only or a.no_input_grad))
    proj = torch.randn(a.batch, a.seq, a.d_model, generator=g) / (a.batch * a.seq) ** 0.5

    def step():
        if a.forward_only:
            with torch.no_grad():
                chunked_memory(params, x, cfg)
            return
        for t in list(params.values()) + [x]:
            t.grad = None
        out, _ = chunked_memory(params, x, cfg)
        (out * proj).sum().backward()

    load0 = round(os.getloadavg()[0], 2)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    print(json.dumps({
        "chunk": a._chunk, "threads": a._nthreads,
        "tokens_per_s": round(a.batch * a.seq / sec, 1), "seconds": round(sec, 4),
        "all_seconds": [round(t, 4) for t in times],
        "batch": a.batch, "seq": a.seq, "d_model": a.d_model, "heads": a.heads, "head_dim": cfg.head_dim,
        "depth": a.depth, "activation": a.activation, "dtype": "float32",
        "mode": "forward" if a.forward_only else ("forward+backward" + ("" if a.no_input_grad else "+dx")),
        "impl": "torch-chunked", **environment_fields(load0),
    }), flush=True)


def main():
    a = parse_args()
    if a._worker:
        worker(a)
        return 0
    chunks = [int(c) for c in a.chunks.split(",") if c]
    threads = [int(t) for t in a.threads.split(",") if t]
    env = peer_env(a)
    if env is None:
        return 2
    rc = 0
    for chunk in chunks:
        for n in threads:
            rc = rc or run_worker(__file__, env, n, ["--_chunk", str(chunk)])
    return rc


if __name__ == "__main__":
    sys.exit(main())
