"""PyTorch peer numbers for `titans bench ops` (run by it with /usr/bin/python3; prints one JSON
object). Same shapes and thread counts as the C++ benchmark, so the ratios compare like with like.

Debian's torch calls whatever libblas.so.3 the system provides — the netlib reference BLAS unless an
optimised one is installed. `titans bench ops` puts the OpenBLAS unpacked by setup_openblas.sh first
on LD_LIBRARY_PATH when it exists; the "blas" field says which library was actually loaded."""
import json
import time

import torch


def best_seconds(f, repeats=7, inner=1):
    """The best of `repeats` mean times of `inner` calls (as titans bench ops reports)."""
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - t0) / inner)
    return min(times)


def loaded_blas():
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(libs)) or "none"


def main():
    out = {"torch": torch.__version__}
    torch.set_num_threads(1)
    a = torch.randn(8, requires_grad=True)
    b = torch.randn(8, requires_grad=True)
    out["add8_autograd_us"] = best_seconds(lambda: a + b, inner=10000) * 1e6
    with torch.no_grad():
        out["add8_us"] = best_seconds(lambda: a + b, inner=10000) * 1e6
    x = torch.randn(512, 512)
    y = torch.randn(512, 512)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        s = best_seconds(lambda: torch.mm(x, y), inner=10)
        out[f"mm512_t{threads}_gflops"] = 2 * 512**3 / s / 1e9
    torch.set_num_threads(2)
    p = torch.randn(1024, 64, 64)
    q = torch.randn(1024, 64, 64)
    s = best_seconds(lambda: torch.bmm(p, q), inner=5)
    out["bmm64_t2_gflops"] = 2 * 1024 * 64**3 / s / 1e9
    out["blas"] = loaded_blas()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
