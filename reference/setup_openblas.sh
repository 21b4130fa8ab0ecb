#!/bin/sh
# Put Debian's OpenBLAS (OpenMP build) in a private directory for bench_neural_memory.py.
# Nothing is installed system-wide (the libblas.so.3 alternative is left alone): the .deb is fetched with
# `apt-get download` and unpacked with `dpkg -x`; the benchmark's child processes load it through
# LD_LIBRARY_PATH. Usage: sh reference/setup_openblas.sh [DEST]
set -eu
dest="${1:-${TITANS_OPENBLAS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/titans-reference/openblas}}"
if [ -e "$dest/libblas.so.3" ]; then
    echo "OpenBLAS already in $dest"
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"    # apt-get download runs as _apt when it can
(cd "$tmp" && apt-get download libopenblas0-openmp)
dpkg -x "$tmp"/libopenblas0-openmp_*.deb "$tmp/root"
src="$(find "$tmp/root" -type d -name openblas-openmp | head -n 1)"
mkdir -p "$dest"
cp -a "$src"/. "$dest"/
if ldd "$dest/libblas.so.3" | grep -q "not found"; then
    echo "missing runtime dependencies (apt-get install libgfortran5 libgomp1):" >&2
    ldd "$dest/libblas.so.3" | grep "not found" >&2
    exit 1
fi
echo "OpenBLAS in $dest"
