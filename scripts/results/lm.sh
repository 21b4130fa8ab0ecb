#!/usr/bin/env bash
# Language modelling at equal parameters and tokens (issue 7 item 4): every architecture's
# configs/<arch>-passkey.json (within 1% of 58,860 parameters) trained on the KJV's training split
# by one recipe (LM windows of 1,024 bytes, batch 16, 1,500 steps: 24.6M tokens, seed 1, one
# thread), then the whole validation split (the last 1%, 43,940 bytes: the end of Revelation)
# streamed through it in one pass with state carried: bits per byte, and bits per byte by position
# (4,096-byte buckets), which shows whether a model uses context beyond its training length.
# Writes the record results/lm/<arch>/ and the model models/lm/<arch>.safetensors (committed);
# scripts/results/lm_report.py writes docs/RESULTS.md from the records. Prints its wall time.
#
#   scripts/results/lm.sh                       # every architecture; finished ones are reused
#   MODELS="titans_mac transformer" scripts/results/lm.sh
#   MODELS="titans_mac_forget titans_mag_forget titans_mal_forget titans_lmm_forget" scripts/results/lm.sh
#       # configs/<name>-lm.json: the passkey models with the memory's forgetting on (decay: true)
#   MODELS="titans_mac_gatesum titans_mag_gatesum" scripts/results/lm.sh   # the gate `sum`, not `sigmoid`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
script_start=$(date +%s)
MODELS=${MODELS:-titans_mac titans_mag titans_mal titans_lmm infini infini_delta swa transformer}
BIN=${TITANS:-build/bin/titans}
THREADS=${THREADS:-1}
[[ -f data/kjv.txt ]] || { echo "lm.sh: no data/kjv.txt (run scripts/setup.sh)" >&2; exit 2; }
mkdir -p runs/lm
# The validation split by the corpus's rule (docs/TASKS.md "Split"): from the first line start at
# or after byte floor(0.99 * size).
python3 - data/kjv.txt runs/lm/validation.txt <<'PY'
import sys
text = open(sys.argv[1], "rb").read()
cut = int(0.99 * len(text))
start = cut if text[cut - 1:cut] == b"\n" else text.index(b"\n", cut) + 1
open(sys.argv[2], "wb").write(text[start:])
PY
for m in $MODELS; do
  config=configs/$m-lm.json  # a variant for this task (the *_forget ones), else the passkey model
  [[ -f $config ]] || config=configs/$m-passkey.json
  [[ -f $config ]] || { echo "lm.sh: no config configs/$m-lm.json or configs/$m-passkey.json" >&2; exit 2; }
  out=runs/lm/$m
  record=results/lm/$m
  train="$BIN train --config $config --task lm --seq 1024 --batch 16 --steps 1500 --lr 3e-3 --warmup 100 --seed 1 --eval-every 250 --threads $THREADS --out $out"
  stream="$BIN stream --model $out/model.safetensors --input runs/lm/validation.txt --loss-by-position $out/loss_by_position.tsv --bucket 4096 --threads 1"
  if [[ -f $record/summary.json && -f models/lm/$m.safetensors ]]; then
    echo "$m: reusing $record (delete it to train again)"
    continue
  fi
  rm -rf "$out"
  echo "+ $train"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  nice $train
  train_s=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")
  echo "+ $stream"
  $stream | tee "$out/stream.txt"
  mkdir -p "$record.tmp" models/lm
  cp "$out/loss_by_position.tsv" "$out/stream.txt" "$record.tmp/"
  python3 - "$record.tmp" "$m" "$config" "${train/#"$BIN"/build/bin/titans}" "${stream/#"$BIN"/build/bin/titans}" "$train_s" "$out/log.jsonl" \
      "$($BIN inspect "$out/model.safetensors" | awk '$1 == "total" {print $NF}')" <<'PY'
import json, sys
rec, model, config, train, stream, train_s, log, params = sys.argv[1:]
evals = [json.loads(l) for l in open(log) if "eval_loss" in l]
json.dump({"model": model, "config": config, "train_command": train, "stream_command": stream,
           "train_wall_s": float(train_s), "parameters": int(params),
           "eval": [{"step": e["step"], "eval_loss": e["eval_loss"]} for e in evals]},
          open(f"{rec}/summary.json", "w"), indent=1)
PY
  rm -rf "$record"
  mv "$record.tmp" "$record"
  cp "$out/model.safetensors" "models/lm/$m.safetensors.tmp" && mv "models/lm/$m.safetensors.tmp" "models/lm/$m.safetensors"
done
echo "lm.sh: script wall time $(($(date +%s) - script_start)) s"
