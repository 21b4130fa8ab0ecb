#!/usr/bin/env bash
# Issue 6 acceptance 3 with more examples: the final passkey model of scripts/results/passkey.sh at
# 1M tokens, SAMPLES examples per depth (the five depths of one example share its haystack), on an
# evaluation seed of its own. Writes runs/passkey/$MODEL/confirm.{json,txt}; prints its wall time.
#
#   MODEL=titans_mac SAMPLES=40 scripts/results/passkey_confirm.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
start=$(date +%s)
MODEL=${MODEL:-titans_mac}
SAMPLES=${SAMPLES:-40}
LENGTHS=${LENGTHS:-1M}
BIN=${TITANS:-build/bin/titans}
OUT=${OUT:-runs/passkey/$MODEL}
[[ -f $OUT/model.safetensors ]] || { echo "passkey_confirm.sh: no $OUT/model.safetensors (run scripts/results/passkey.sh)" >&2; exit 2; }
cmd="$BIN eval --model $OUT/model.safetensors --task passkey --lengths $LENGTHS --samples $SAMPLES --seed 200 --threads ${THREADS:-1} --json $OUT/confirm.json"
echo "+ $cmd"
$cmd | tee "$OUT/confirm.txt"
echo "${cmd/#"$BIN"/build/bin/titans}" > "$OUT/confirm.cmd"
echo "$(($(date +%s) - start))" > "$OUT/confirm.wall_s"
echo "passkey_confirm.sh: wall time $(cat "$OUT/confirm.wall_s") s"
