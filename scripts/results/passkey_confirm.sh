#!/usr/bin/env bash
# Issue 6 acceptance 3 with more examples: the final passkey model of scripts/results/passkey.sh at
# 1M tokens, SAMPLES examples per depth (the five depths of one example share its haystack), on an
# evaluation seed of its own (SEED, default 200). Writes runs/passkey/$MODEL/confirm.{json,txt,cmd,wall_s}
# (confirm-seed$SEED.* for another seed) and copies them into the record results/passkey/$MODEL,
# which passkey_report.py reads; prints its wall time.
#
#   MODEL=titans_mac SAMPLES=40 scripts/results/passkey_confirm.sh
#   MODEL=titans_mac SAMPLES=10 SEED=300 scripts/results/passkey_confirm.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
start=$(date +%s)
MODEL=${MODEL:-titans_mac}
SAMPLES=${SAMPLES:-40}
LENGTHS=${LENGTHS:-1M}
BIN=${TITANS:-build/bin/titans}
OUT=${OUT:-runs/passkey/$MODEL}
# The run's final model, else its committed copy (the run folder does not outlive a clean checkout).
MODEL_FILE=$OUT/model.safetensors
[[ -f $MODEL_FILE ]] || MODEL_FILE=models/passkey/$MODEL.safetensors
[[ -f $MODEL_FILE ]] || { echo "passkey_confirm.sh: no $OUT/model.safetensors or $MODEL_FILE (run scripts/results/passkey.sh)" >&2; exit 2; }
mkdir -p "$OUT"
SEED=${SEED:-200}
name=confirm
[[ $SEED == 200 ]] || name=confirm-seed$SEED
cmd="$BIN eval --model $MODEL_FILE --task passkey --lengths $LENGTHS --samples $SAMPLES --seed $SEED --threads ${THREADS:-1} --json $OUT/$name.json"
echo "+ $cmd"
$cmd | tee "$OUT/$name.txt"
echo "${cmd/#"$BIN"/build/bin/titans}" > "$OUT/$name.cmd"
echo "$(($(date +%s) - start))" > "$OUT/$name.wall_s"
RECORD=${RECORD:-results/passkey/$MODEL}
if [[ -d $RECORD ]]; then cp "$OUT/$name".{json,cmd,wall_s} "$RECORD/"; fi
echo "passkey_confirm.sh: wall time $(cat "$OUT/$name.wall_s") s"
