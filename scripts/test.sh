#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (CTest: unit, op table, end to end).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# python3-torch: the PyTorch oracles in reference/ test themselves too.
bash scripts/setup.sh python3-torch
start=$(date +%s)
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "tests took $(( $(date +%s) - start )) s"
