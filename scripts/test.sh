#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (CTest: unit, op table, end to end).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
start=$(date +%s)
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "tests took $(( $(date +%s) - start )) s"
