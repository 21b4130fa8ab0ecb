#!/usr/bin/env bash
# BABILong-style qa1/qa2/qa3 (bAbI facts spread through KJV text; docs/TASKS.md) for one model
# config, trained on lengths <= 4K and scored from 1K to 1M tokens (issue 7 item 3), by
# scripts/results/curriculum.sh (its header: every variable it takes). One model per architecture
# learns the three tasks as an equal mixture; each task is scored on its own.
# scripts/results/qa_report.py writes docs/RESULTS.md from the records. Prints its wall time.
# Not yet a result: these stages have not been run in full, and a first probe learned little
# (docs/RESULTS.md "qa1–qa3: status").
#
#   MODEL=titans_mac scripts/results/qa.sh     # configs/$MODEL-passkey.json; finished stages in $OUT are reused
#   for m in titans_mac titans_mag titans_mal titans_lmm infini infini_delta swa transformer; do MODEL=$m scripts/results/qa.sh; done
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# niah.sh's stages (qa3 needs 342 tokens, so the curriculum starts at 512). A qa example has no
# needle depth: each stage's model is scored on 200 examples of its length, the final model on 10
# per length (LONG_SAMPLES).
TASK=mix:qa1=1,qa2=1,qa3=1 EVAL_TASKS=qa1,qa2,qa3 RUN=qa STAGE_SAMPLES=200 \
LONG_BOUNDED=1K,4K,16K,64K,256K,1M LONG_FULL=1K,4K,16K LONG_SAMPLES=${LONG_SAMPLES:-10} STAGES="
512 2000 3e-3 1 0
1024 800 2e-3 2 0
2048 500 2e-3 3 0
2048 800 2e-3 4 0.2
4096 500 1e-3 5 0.2" exec ./curriculum.sh
