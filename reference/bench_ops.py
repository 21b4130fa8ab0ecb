"""PyTorch peer numbers for `titans bench ops` (run by it with /usr/bin/python3; prints one JSON
object). Same shapes and thread counts as the C++ benchmark, so the ratios compare like with like."""
import json
import time

import torch


def median_seconds(f, repeats=7, inner=1):
    f()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - t0) / inner)
    times.sort()
    return times[len(times) // 2]


def main():
    out = {"torch": torch.__version__}
    torch.set_num_threads(1)
    a = torch.randn(8, requires_grad=True)
    b = torch.randn(8, requires_grad=True)
    out["add8_autograd_us"] = median_seconds(lambda: a + b, inner=10000) * 1e6
    with torch.no_grad():
        out["add8_us"] = median_seconds(lambda: a + b, inner=10000) * 1e6
    x = torch.randn(512, 512)
    y = torch.randn(512, 512)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        s = median_seconds(lambda: torch.mm(x, y), inner=10)
        out[f"mm512_t{threads}_gflops"] = 2 * 512**3 / s / 1e9
    torch.set_num_threads(2)
    p = torch.randn(1024, 64, 64)
    q = torch.randn(1024, 64, 64)
    s = median_seconds(lambda: torch.bmm(p, q), inner=5)
    out["bmm64_t2_gflops"] = 2 * 1024 * 64**3 / s / 1e9
    print(json.dumps(out))


if __name__ == "__main__":
    main()
