"""Performance-peer benchmark of whole models (reference/models.py): one training step, float32.

    /usr/bin/python3 reference/bench_models.py --config configs/titans_mac-small.json --batch 4 --seq 512 \
        --threads 1,2 --repeats 3
    /usr/bin/python3 reference/bench_models.py --config CFG.json --theta-init 0.01 --forward-only

One JSON line per thread count on stdout:
    {"arch", "threads", "tokens_per_s", "seconds", "all_seconds", "cpu_seconds", "loss", "max_rss_mib", ...}
`seconds` is the median over --repeats timed steps (after --warmup untimed ones) of one step =
forward over ids [batch, seq] + next-token cross-entropy (mean over the batch*seq - batch predicted
tokens) + backward to every parameter + an AdamW step (--lr, default 1e-3, weight decay 0.1; --no-optimizer drops
it). tokens_per_s = batch * seq / seconds. Random ids (uniform over the vocabulary, fixed seed).
`cpu_seconds` is the process's CPU time (all threads) per timed step, their median: on a shared machine
it leaves out the other processes' turns, which the wall clock counts.

Each thread count runs in a fresh child process with OMP/OPENBLAS/MKL_NUM_THREADS = N and
torch.set_num_threads(N); OpenBLAS as in bench_neural_memory.py (--blas auto loads it from
~/.cache/titans-reference/openblas when reference/setup_openblas.sh has put it there).
The memory's non-finite checks are off unless --check (they synchronise; on a CPU they cost little).
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_neural_memory import DEFAULT_OPENBLAS, environment_fields, peer_env, run_worker  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="model config JSON (src/models/model_config.h keys)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--threads", default="1", help="comma-separated thread counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (0: same work, parameters kept)")
    ap.add_argument("--theta-init", type=float, default=None, help="override memory.theta_init")
    ap.add_argument("--forward-only", action="store_true", help="time a no-grad forward only")
    ap.add_argument("--no-optimizer", action="store_true", help="forward + backward, no AdamW step")
    ap.add_argument("--check", action="store_true", help="keep the memory's non-finite checks on")
    ap.add_argument("--blas", default="auto", choices=["auto", "system", "openblas"])
    ap.add_argument("--openblas-dir", default=DEFAULT_OPENBLAS)
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_nthreads", type=int, default=1, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def worker(a):
    import torch
    import torch.nn.functional as F
    from models import Model, ModelConfig

    torch.set_num_threads(a._nthreads)
    with open(a.config) as f:
        d = json.load(f)
    if a.theta_init is not None:
        d.setdefault("memory", {})["theta_init"] = a.theta_init
    cfg = ModelConfig.from_dict(d)
    model = Model(cfg, dtype=torch.float32, seed=a.seed, check_finite=a.check)
    g = torch.Generator().manual_seed(a.seed + 1)
    ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.1)
    losses = []

    def step():
        if a.forward_only:
            with torch.no_grad():
                model(ids)
            return
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab_size), ids[:, 1:].reshape(-1))
        loss.backward()
        if not a.no_optimizer:
            opt.step()
        losses.append(float(loss))

    load0 = round(os.getloadavg()[0], 2)
    for _ in range(a.warmup):
        step()
    times, cpu = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    sec = statistics.median(times)
    mode = "forward" if a.forward_only else ("forward+backward" + ("" if a.no_optimizer else "+adamw"))
    print(json.dumps({
        "arch": cfg.arch, "config": a.config, "threads": a._nthreads,
        "tokens_per_s": round(a.batch * a.seq / sec, 1), "seconds": round(sec, 4),
        "all_seconds": [round(t, 4) for t in times],
        "cpu_seconds": round(statistics.median(cpu), 4), "loss": losses[-1] if losses else None,
        "batch": a.batch, "seq": a.seq, "d_model": cfg.d_model, "n_layers": cfg.n_layers,
        "n_params": sum(p.numel() for p in model.parameters()), "dtype": "float32", "mode": mode,
        "impl": "torch-reference", **environment_fields(load0),
    }), flush=True)


def main():
    a = parse_args()
    if a._worker:
        worker(a)
        return 0
    env = peer_env(a)
    if env is None:
        return 2
    rc = 0
    for n in [int(t) for t in a.threads.split(",") if t]:
        rc = rc or run_worker(__file__, env, n, [])
    return rc


if __name__ == "__main__":
    sys.exit(main())
