#!/usr/bin/env bash
# The main job, from a fresh clone: installs the dependencies (Debian packages, by name), builds,
# then evaluates the committed Titans model (models/titans_mac-passkey.safetensors, made by
# scripts/results/passkey.sh; models/README.md) on passkey retrieval from 1K to 1M tokens,
# streaming every example through the model in constant memory, and prints the length × depth
# table (also runs/demo/passkey.json and an SVG heatmap). A short live training run follows.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
BUILD_TARGETS=titans bash scripts/setup.sh  # the tests are built by scripts/test.sh
mkdir -p runs/demo
threads=$(nproc)
./build/bin/titans eval --model models/titans_mac-passkey.safetensors --task passkey \
  --lengths 1K,4K,16K,64K,256K,1M --depths 0,0.25,0.5,0.75,1 --samples 1 --seed 0 \
  --threads "$threads" --json runs/demo/passkey.json --svg runs/demo/passkey.svg
echo "table: runs/demo/passkey.json, heatmap: runs/demo/passkey.svg"
# A live training run: the toy character model, its loss falling.
./build/bin/titans toy --steps 300 --threads "$threads"
echo "demo done in $(( $(date +%s) - start )) s"
