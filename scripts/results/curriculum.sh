#!/usr/bin/env bash
# One model config trained by a length curriculum on lengths <= 4K and scored far beyond: the shared
# body of scripts/results/passkey.sh and niah.sh, which set the task and the stages. Each stage is a
# new run starting from the previous stage's weights (--init); every stage's model is scored at its
# own length (200 held-out examples per evaluation task, greedy), then the final model at longer
# lengths; $OUT/summary.json is for the report scripts (scripts/results/*_report.py, which write
# docs/RESULTS.md). Prints its wall time. Finished stages and evaluations in $OUT are reused; an
# unfinished stage starts over.
#
# Set by the caller:
#   TASK        the training task: passkey, or a mixture such as mix:sniah1=1,sniah2=1,sniah3=1
#   EVAL_TASKS  comma-separated tasks to score (no mixtures)
#   STAGES      one stage a line: "length steps lr seed write-penalty"
#   RUN         runs/$RUN/$MODEL is the default $OUT (checkpoints, logs), results/$RUN/$MODEL the
#               record the report scripts read (committed; scripts/results/record.py), and
#               models/$RUN/$MODEL.safetensors the final model (committed)
#   STAGE_SAMPLES  examples per depth when each stage's model is scored at its length (default 40)
#   LONG_BOUNDED, LONG_FULL  the long lengths of the bounded-state architectures and of the
#               transformer (defaults: 2K,4K,16K,64K,256K,1M,10M and 2K,4K,16K)
# Set by the user:
#   MODEL (default titans_mac: configs/$MODEL-passkey.json, every architecture's within 1% of 58,860
#   parameters), THREADS (default 1; results are deterministic for a thread count, and at 1 two
#   architectures can train side by side), TITANS (the binary; a copy keeps a rebuild from changing
#   a long run), OUT, LONG_LENGTHS, LONG_SAMPLES (examples per depth at the long lengths, default 1),
#   RECORD (a trial run: its record goes there, and the model is not copied under models/),
#   START_STAGE + START_MODEL (stages before START_STAGE are done: START_MODEL is the model the stage
#   before it made by the same commands).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
script_start=$(date +%s)
: "${TASK:?curriculum.sh: TASK is not set (run passkey.sh or niah.sh)}"
: "${EVAL_TASKS:?curriculum.sh: EVAL_TASKS is not set}"
: "${STAGES:?curriculum.sh: STAGES is not set}"
: "${RUN:?curriculum.sh: RUN is not set}"

MODEL=${MODEL:-titans_mac}
THREADS=${THREADS:-1}
START_STAGE=${START_STAGE:-1}
START_MODEL=${START_MODEL:-}
me=${RUN}.sh
if ((START_STAGE > 1)) && [[ ! -f $START_MODEL ]]; then
  echo "$me: START_STAGE=$START_STAGE needs START_MODEL, the model stage $((START_STAGE - 1)) made" >&2
  exit 2
fi
BIN=${TITANS:-build/bin/titans}
OUT=${OUT:-runs/$RUN/$MODEL}
CONFIG=configs/$MODEL-passkey.json
[[ -f $CONFIG ]] || { echo "$me: no config $CONFIG" >&2; exit 2; }
ARCH=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['arch'])" "$CONFIG")
# Full attention keeps every key and value: its streamed cost grows with the square of the length,
# so it is scored up to LONG_FULL (default 16K); every other architecture has a bounded state,
# scored up to LONG_BOUNDED (default 10M). LONG_LENGTHS, when set, is for every architecture.
if [[ $ARCH == transformer ]]; then DEFAULT_LONG=${LONG_FULL:-2K,4K,16K}; else DEFAULT_LONG=${LONG_BOUNDED:-2K,4K,16K,64K,256K,1M,10M}; fi
LONG_LENGTHS=${LONG_LENGTHS:-$DEFAULT_LONG}
LONG_SAMPLES=${LONG_SAMPLES:-1}
STAGE_SAMPLES=${STAGE_SAMPLES:-40}
IFS=',' read -r -a eval_tasks <<<"$EVAL_TASKS"
mapfile -t stages < <(grep -v '^[[:space:]]*$' <<<"$STAGES")
mkdir -p "$OUT"

# Only the architectures with a neural memory have a write gate to penalise (docs/TRAINING.md
# "Writing little"); the others take the same stages without --write-penalty.
has_memory=false
[[ $ARCH == titans_* ]] && has_memory=true
CMDS=""  # the whole recipe, as a reader types it ($TITANS may be a copy), skipped stages included
prev_model=""
i=0
for stage in "${stages[@]}"; do
  read -r seq steps lr seed penalty <<<"$stage"
  i=$((i + 1))
  dir="$OUT/stage$i-seq$seq"
  cmd="$BIN train --config $CONFIG --task $TASK --seq $seq --tail-jitter 31 --batch 16 --steps $steps --lr $lr --warmup 50 --seed $seed --eval-every 100 --threads $THREADS --out $dir"
  [[ $penalty != 0 && $has_memory == true ]] && cmd+=" --write-penalty $penalty"
  [[ -n $prev_model ]] && cmd+=" --init $prev_model"
  CMDS+="${cmd/#"$BIN"/build/bin/titans}"$'\n'
  prev_model=$dir/model.safetensors
  if ((i < START_STAGE)); then continue; fi
  ((i == START_STAGE && i > 1)) && cmd=${cmd/%" --init $OUT/stage$((i - 1))-seq"*/" --init $START_MODEL"}
  if [[ -f $dir/model.safetensors && -f $dir/wall_s ]]; then
    echo "stage $i ($seq tokens): reusing the finished run in $dir (delete it to train again)"
    continue
  fi
  rm -rf "$dir"  # an unfinished stage starts over (its --init model may have changed)
  echo "+ $cmd"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  nice $cmd
  python3 -c "print(round($(date +%s.%N) - $start, 1))" > "$dir/wall_s"
done
cp -p "$prev_model" "$OUT/model.safetensors"  # -p: the long evaluations below stay newer than it

# Every stage's model at its own training length: STAGE_SAMPLES examples per depth (default 40: 200
# held-out examples a needle task; a task without a needle has one cell of STAGE_SAMPLES).
EVAL_CMDS=""
for ((j = START_STAGE; j <= ${#stages[@]}; j++)); do
  read -r seq _ <<<"${stages[j - 1]}"
  dir="$OUT/stage$j-seq$seq"
  for task in "${eval_tasks[@]}"; do
    cmd="$BIN eval --model $dir/model.safetensors --task $task --lengths $seq --samples $STAGE_SAMPLES --seed 100 --threads 1 --json $dir/eval-$task.json"
    EVAL_CMDS+="${cmd/#"$BIN"/build/bin/titans}"$'\n'
    if [[ -f $dir/eval-$task.json ]]; then continue; fi
    echo "+ $cmd"
    $cmd > "$dir/eval-$task.txt"
  done
done
LONG_CMDS=""
for task in "${eval_tasks[@]}"; do
  long="$OUT/eval_long-$task"
  cmd="$BIN eval --model $OUT/model.safetensors --task $task --lengths $LONG_LENGTHS --samples $LONG_SAMPLES --seed 100 --threads 1 --json $long.json --svg $long.svg"
  generic="${cmd/#"$BIN"/build/bin/titans}"
  LONG_CMDS+="$generic"$'\n'
  # Reused only when it scored this model at these lengths.
  if [[ -f $long.json && -f $long.wall_s && $long.json -nt $OUT/model.safetensors && $(cat "$long.cmd" 2>/dev/null) == "$generic" ]]; then
    echo "reusing $long.json"
    continue
  fi
  echo "+ $cmd"
  long_start=$(date +%s)
  $cmd | tee "$long.txt"
  echo $(($(date +%s) - long_start)) > "$long.wall_s"
  echo "$generic" > "$long.cmd"
done

python3 - "$OUT" "$MODEL" "$CONFIG" "$TASK" "$EVAL_TASKS" "$CMDS" "$EVAL_CMDS" "$LONG_CMDS" "$START_STAGE" "$START_MODEL" <<'PY'
import json, sys
out, model, config, task, eval_tasks, cmds, eval_cmds, long_cmds, start_stage, start_model = sys.argv[1:]
json.dump({"model": model, "config": config, "task": task, "eval_tasks": eval_tasks.split(","),
           "start_stage": int(start_stage), "start_model": start_model,
           "train_commands": cmds.strip().splitlines(), "eval_commands": eval_cmds.strip().splitlines(),
           "long_commands": long_cmds.strip().splitlines()}, open(f"{out}/summary.json", "w"), indent=1)
PY
# The record (results/, committed) is what the report scripts read; the model goes under models/.
# RECORD set by the caller (a trial run): the record there and no model copy.
model_copy=""
[[ -z ${RECORD:-} ]] && RECORD=results/$RUN/$MODEL && model_copy=models/$RUN/$MODEL.safetensors
mkdir -p "$(dirname "$RECORD")"
python3 scripts/results/record.py "$OUT" "$RECORD" "$BIN"
if [[ -n $model_copy ]]; then
  mkdir -p "$(dirname "$model_copy")"
  cp "$OUT/model.safetensors" "$model_copy.tmp" && mv "$model_copy.tmp" "$model_copy"
fi
echo "$MODEL: script wall time $(($(date +%s) - script_start)) s (training stages: $OUT/stage*/wall_s)"
