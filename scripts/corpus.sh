#!/usr/bin/env bash
# Dumps the default corpus once: the King James Bible of Debian's bible-kjv-text (read with the
# `bible` program of bible-kjv) to data/kjv.txt, one verse per line ("Ge1:1 In the beginning …").
# Run by scripts/setup.sh after it installed both packages; does nothing when the dump is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=data/kjv.txt
min_bytes=4000000  # the whole dump is 4,404,412 bytes; less means it stopped early

if [ -f "$out" ] && [ "$(stat -c %s "$out")" -ge "$min_bytes" ]; then exit 0; fi
command -v bible >/dev/null || { echo "corpus: 'bible' missing (apt-get install bible-kjv bible-kjv-text)" >&2; exit 2; }
mkdir -p data
tmp=$(mktemp data/kjv.XXXXXX)
trap 'rm -f "$tmp"' EXIT
bible -p /usr/lib -f gen1:1-rev22:21 > "$tmp"
size=$(stat -c %s "$tmp")
if [ "$size" -lt "$min_bytes" ]; then
  echo "corpus: the dump is $size bytes, expected about 4.4 MB" >&2; exit 2
fi
# Plain text: printable ASCII and line breaks only.
if LC_ALL=C grep -q '[^[:print:]]' "$tmp"; then
  echo "corpus: the dump has bytes other than printable ASCII" >&2; exit 2
fi
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "corpus: wrote $out ($size bytes, $(wc -l < "$out") verses)"
