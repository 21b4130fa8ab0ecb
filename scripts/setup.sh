#!/usr/bin/env bash
# Installs what the build needs (Debian packages, by name) and builds into build/.
# Run by scripts/test.sh and scripts/demo.sh; extra package names may be given as arguments.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(g++ cmake ninja-build libdnnl-dev libcli11-dev libfmt-dev nlohmann-json3-dev
          libgtest-dev python3 bible-kjv bible-kjv-text "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bash scripts/corpus.sh  # the default corpus, data/kjv.txt (docs/TASKS.md)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
