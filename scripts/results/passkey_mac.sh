#!/usr/bin/env bash
# Passkey: titans_mac at its training length (issue 5, acceptance 5), and the same model beyond it
# (issue 6, acceptance 3). Trains the project's passkey model (configs/titans_mac-passkey.json) by a
# length curriculum — each stage a new run starting from the previous stage's weights (--init) —
# prints the wall time, scores the final model with greedy decoding on 200 held-out examples at its
# training length (every depth; `titans eval`), then at longer lengths, and writes the commands, the
# numbers and the curve into docs/RESULTS.md.
#
#   scripts/results/passkey_mac.sh            # train (finished stages in $OUT are reused) and report
#   OUT=runs/x scripts/results/passkey_mac.sh
#
# One thread: the run is deterministic for a thread count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
script_start=$(date +%s)

BIN=${TITANS:-build/bin/titans}
OUT=${OUT:-runs/passkey_mac}
CONFIG=configs/titans_mac-passkey.json
LONG_LENGTHS=${LONG_LENGTHS:-2K,4K,16K,64K,256K,1M}
mkdir -p "$OUT"

# The stages: training length, steps, lr, seed. Labels: the answer only (" 29558." — the period
# teaches where the key ends). A model trained at one length fails at twice that length (0% at
# 1K after the 512 stage), so every length up to the final one gets its own stage; each learns in a
# few hundred steps from the previous one. --tail-jitter 31 ends each example with 0–31 unlabelled
# spaces after the answer, so the question ends at every offset within a segment:
# trained at one length without it, the model answered only at that length's alignment (the 512
# stage: 100% at 512 tokens, 0–50% at 400–500). Issue 5 asks for ≥ 99% at a training length ≤ 2K
# (the 2048 stage, the final model); issue 6 for a model trained on lengths ≤ 4K.
STAGES=("256 2000 3e-3 1" "512 1500 2e-3 2" "1024 800 2e-3 3" "2048 500 2e-3 4")
CMDS=""
prev=""
for stage in "${STAGES[@]}"; do
  read -r seq steps lr seed <<<"$stage"
  dir="$OUT/seq$seq"
  cmd="$BIN train --config $CONFIG --task passkey --seq $seq --tail-jitter 31 --batch 16 --steps $steps --lr $lr --warmup 50 --seed $seed --eval-every 100 --threads 1 --out $dir"
  [[ -n $prev ]] && cmd+=" --init $prev/model.safetensors"
  CMDS+="$cmd"$'\n'
  prev=$dir
  if [[ -f $dir/model.safetensors && -f $dir/wall_s ]]; then
    echo "stage $seq: reusing the finished run in $dir (delete $OUT to train again)"
    continue
  fi
  rm -rf "$dir"  # an unfinished stage starts over (its --init model may have changed)
  echo "+ $cmd"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  nice $cmd
  python3 -c "print(round($(date +%s.%N) - $start, 1))" > "$dir/wall_s"
done
cp "$prev/model.safetensors" "$OUT/model.safetensors"
WALL=$(python3 -c "import sys; print(round(sum(float(open(f).read()) for f in sys.argv[1:]), 1))" "$OUT"/seq*/wall_s)
echo "training wall time: $WALL s"

# Every stage's model at its own training length: 200 held-out examples (40 per depth).
EVAL_CMDS=""
for stage in "${STAGES[@]}"; do
  seq=${stage%% *}
  cmd="$BIN eval --model $OUT/seq$seq/model.safetensors --task passkey --lengths $seq --samples 40 --seed 100 --threads 1 --json $OUT/seq$seq/eval.json"
  EVAL_CMDS+="$cmd"$'\n'
  echo "+ $cmd"
  $cmd | tee "$OUT/seq$seq/eval.txt"
done
LONG_CMD="$BIN eval --model $OUT/model.safetensors --task passkey --lengths $LONG_LENGTHS --samples 1 --seed 100 --threads 2 --json $OUT/eval_long.json --svg $OUT/eval_long.svg"
echo "+ $LONG_CMD"
long_start=$(date +%s)
$LONG_CMD | tee "$OUT/eval_long.txt"
LONG_WALL=$(( $(date +%s) - long_start ))

python3 - "$OUT" "$CMDS" "$EVAL_CMDS" "$LONG_CMD" "$WALL" "$LONG_WALL" <<'PY'
import json, os, platform, subprocess, sys
out, cmds, eval_cmds, long_cmd, wall, long_wall = sys.argv[1:]
stages = sorted((d for d in os.listdir(out) if d.startswith("seq")), key=lambda d: int(d[3:]))
rows = ["| stage (length) | step | training loss (mean of the steps since the last eval) | validation loss | validation accuracy (teacher-forced, at the answer) |",
        "|---:|---:|---:|---:|---:|"]
stage_rows = ["| stage: training length | steps | wall time | greedy accuracy at its length (200 held-out examples) | by depth 0 / 0.25 / 0.5 / 0.75 / 1 |",
              "|---:|---:|---:|---:|---|"]
for d in stages:
    losses, last = [], 0
    for line in open(f"{out}/{d}/log.jsonl"):
        r = json.loads(line)
        if "eval_accuracy" in r:
            mean = sum(losses) / len(losses) if losses else float("nan")
            rows.append(f"| {d[3:]} | {r['step']} | {mean:.4f} | {r['eval_loss']:.4f} | {100 * r['eval_accuracy']:.2f}% |")
            losses = []
        elif "loss" in r:
            losses.append(r["loss"])
            last = max(last, r["step"])
    recs = json.load(open(f"{out}/{d}/eval.json"))
    n = sum(r["samples"] for r in recs)
    acc = sum(r["accuracy"] * r["samples"] for r in recs) / n
    by_depth = " / ".join(f"{100 * r['accuracy']:.1f}" for r in sorted(recs, key=lambda r: r["depth"]))
    stage_rows.append(f"| {d[3:]} | {last} | {open(f'{out}/{d}/wall_s').read().strip()} s | **{100 * acc:.1f}%** ({n}) | {by_depth} |")
def table(path):
    lines = open(path).read().splitlines()
    return "\n".join(l for l in lines if l.startswith("|"))
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[0]
section = f"""## Passkey: titans_mac at its training length

Made by `scripts/results/passkey_mac.sh` (issue 5, acceptance 5). Model: `configs/titans_mac-passkey.json`
(58,860 parameters; the choices and why: models/README.md). A length curriculum, each stage starting
from the previous stage's weights (`--init`), the answer labelled only (`" 29558."`); `--tail-jitter 31`; seeds 1–4; one
thread. The commands:

```
{cmds.strip()}
{eval_cmds.strip()}
```

- Machine: {cpu or platform.processor()}, 2 cores (load {load} when the report was written; the
  machine was shared, so wall times are upper bounds).
- Training wall time: **{wall} s** in all.

{chr(10).join(stage_rows)}

- Greedy decoding of each stage's model at its own training length (evaluation seed 100, a stream
  the trainer does not draw from; 40 examples per depth 0, 0.25, 0.5, 0.75, 1; the passkey rule: the
  first integer of at most 8 decoded tokens equals the key). Issue 5 asks ≥ 99% at a training length
  ≤ 2K: the 2048 row.

The curve (`log.jsonl` of each stage; the trainer's validation set: 64 examples, argmax at the
answer's tokens with the true answer fed):

{chr(10).join(rows)}

## Passkey: the same model beyond its training length (issue 6, acceptance 3)

`{long_cmd}` — one example per cell (the depths of one length share the haystack, fed once up to the
needle; docs/EVALUATION.md), wall time {long_wall} s:

{table(f"{out}/eval_long.txt")}
"""
path = "docs/RESULTS.md"
try:
    doc = open(path).read()
except FileNotFoundError:
    doc = "# Results\n\nMeasured results, each made by a script under scripts/results/.\n"
for head in ("## Passkey: titans_mac at its training length", "## Passkey: the same model beyond its training length",
             "## Passkey: the committed model beyond its training length"):
    while head in doc:
        start = doc.index(head)
        nxt = doc.find("\n## ", start + len(head))
        doc = doc[:start] + (doc[nxt + 1:] if nxt >= 0 else "")
doc = doc.rstrip("\n") + "\n\n" + section
open(path, "w").write(doc)
print(f"wrote the sections into {path}")
PY
echo "script wall time: $(( $(date +%s) - script_start )) s"
