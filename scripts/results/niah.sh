#!/usr/bin/env bash
# S-NIAH-1/2/3 (RULER's single needle; Titans Table 2) for one model config, trained on lengths
# <= 4K and scored at 2K … 16K and beyond (issue 7 item 1), by scripts/results/curriculum.sh (its
# header: every variable it takes). One model per architecture learns the three tasks as an equal
# mixture; each task is scored on its own. scripts/results/niah_report.py writes docs/RESULTS.md
# from the records. Prints its wall time. Not yet a result: these stages do not teach the 58K-
# parameter models S-NIAH even at 512 tokens (docs/RESULTS.md "S-NIAH: status").
#
#   MODEL=titans_mac scripts/results/niah.sh     # configs/$MODEL-passkey.json; finished stages in $OUT are reused
#   for m in titans_mac titans_mag titans_mal titans_lmm infini infini_delta swa transformer; do MODEL=$m scripts/results/niah.sh; done
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# passkey.sh's stages (the reasons are written there) less its first: a needle task's prompt takes
# 381 tokens (429 for S-NIAH-3's UUIDs), so the curriculum starts at 512 with stage 1's steps and lr.
# Lengths as Titans Table 2 (2K, 4K, 8K, 16K), then 64K, 256K, 1M; two examples per depth.
TASK=mix:sniah1=1,sniah2=1,sniah3=1 EVAL_TASKS=sniah1,sniah2,sniah3 RUN=niah \
LONG_BOUNDED=2K,4K,8K,16K,64K,256K,1M LONG_FULL=2K,4K,8K,16K LONG_SAMPLES=${LONG_SAMPLES:-2} STAGES="
512 2000 3e-3 1 0
1024 800 2e-3 2 0
2048 500 2e-3 3 0
2048 800 2e-3 4 0.2
4096 500 1e-3 5 0.2" exec ./curriculum.sh
