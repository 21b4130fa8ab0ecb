#!/usr/bin/env bash
# Installs the dependencies, builds, and trains a toy model end to end, printing its loss falling.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
./build/bin/titans toy --steps 300
