#!/usr/bin/env bash
# Installs what the build needs (Debian packages, by name) and builds into build/.
# Run by scripts/test.sh and scripts/demo.sh; extra package names may be given as arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(g++ cmake ninja-build libdnnl-dev libcli11-dev libfmt-dev nlohmann-json3-dev
          libgtest-dev python3 python3-numpy bible-kjv bible-kjv-text "$@")
bash scripts/install_packages.sh "${packages[@]}"

bash scripts/corpus.sh  # the default corpus, data/kjv.txt (docs/TASKS.md)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
# BUILD_TARGETS (default: everything) — the demo needs only the `titans` binary.
# shellcheck disable=SC2086
ninja -C build ${BUILD_TARGETS:-}
