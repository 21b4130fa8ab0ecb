#!/usr/bin/env bash
# The results pipeline end to end, at toy size: scripts/results/curriculum.sh trains two 3-step
# stages on the S-NIAH mixture, scores them, writes the record (record.py); a rerun reuses all of
# it; niah_report.py writes its tables from the record into a scratch results page whose
# hand-written section survives; a missing setting is refused by name.
#   tests/results_pipeline_test.sh TITANS_BINARY
set -euo pipefail
bin=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run() {
  TASK=mix:sniah1=1,sniah2=1,sniah3=1 EVAL_TASKS=sniah1,sniah2,sniah3 RUN=niah STAGE_SAMPLES=2 \
  LONG_LENGTHS=1K,20K LONG_SAMPLES=1 STAGES="
512 3 3e-3 1 0
1024 3 2e-3 2 0.2" MODEL=titans_lmm OUT=$tmp/run/titans_lmm RECORD=$tmp/rec/titans_lmm TITANS=$bin \
  THREADS=1 "$root/scripts/results/curriculum.sh"
}
run > "$tmp/first.log" 2>&1 || { cat "$tmp/first.log"; fail "the first run"; }
rec=$tmp/rec/titans_lmm
for f in summary.json eval_long-sniah1.json eval_long-sniah3.wall_s stage1-seq512/eval-sniah2.json \
         stage2-seq1024/curve.json stage2-seq1024/wall_s; do
  [[ -s $rec/$f ]] || fail "the record lacks $f"
done
[[ ! -e $rec/model.safetensors && ! -e $rec/stage1-seq512/log.jsonl ]] || fail "the record holds a model or a log"
python3 - "$rec" <<'PY' || fail "the record's contents"
import json, sys
rec = sys.argv[1]
s = json.load(open(f"{rec}/summary.json"))
assert s["parameters"] == 58860, s["parameters"]           # titans_lmm-passkey's count
assert len(s["train_commands"]) == 2 and "--write-penalty 0.2" in s["train_commands"][1], s["train_commands"]
assert s["eval_tasks"] == ["sniah1", "sniah2", "sniah3"], s["eval_tasks"]
recs = json.load(open(f"{rec}/eval_long-sniah1.json"))
assert sorted({r["length"] for r in recs}) == [1000, 20000] and sum(r["samples"] for r in recs) == 10, recs
curve = json.load(open(f"{rec}/stage2-seq1024/curve.json"))
assert curve and curve[-1]["step"] == 3 and 0 <= curve[-1]["eval_accuracy"] <= 1, curve
PY

run > "$tmp/second.log" 2>&1 || { cat "$tmp/second.log"; fail "the rerun"; }
grep -q "stage 2 (1024 tokens): reusing" "$tmp/second.log" || fail "the rerun trained again"
grep -q "reusing $tmp/run/titans_lmm/eval_long-sniah3.json" "$tmp/second.log" || fail "the rerun evaluated again"
! grep -q "^+ " "$tmp/second.log" || fail "the rerun ran a command"

doc=$tmp/RESULTS.md
printf '# Results\n\n## S-NIAH: reading the results\n\nkept\n' > "$doc"
RESULTS_DOC=$doc python3 "$root/scripts/results/niah_report.py" "$tmp/rec" > /dev/null
grep -q "^| titans_lmm | 58,860 | 0.1M |" "$doc" || fail "no cost row in the report"
grep -q "^| titans_lmm | S-NIAH-3 | " "$doc" || fail "no row beyond 16K in the report"
grep -q "^| titans_lmm | 1024, 3, 0.2 | " "$doc" || fail "no stage row in the report"
grep -q "^kept$" "$doc" || fail "the hand-written section was lost"
# The report again: its sections are replaced, not added.
RESULTS_DOC=$doc python3 "$root/scripts/results/niah_report.py" "$tmp/rec" > /dev/null
[[ $(grep -c "^## S-NIAH: every architecture" "$doc") == 1 ]] || fail "the report's section twice"
[[ $(grep -n "^## " "$doc" | tail -n 1) == *"reading the results"* ]] || fail "the reading moved"

if out=$(TASK=passkey "$root/scripts/results/curriculum.sh" 2>&1); then fail "ran without EVAL_TASKS"; fi
[[ $out == *"EVAL_TASKS is not set"* ]] || fail "no message naming EVAL_TASKS: $out"
echo "results pipeline: ok"
