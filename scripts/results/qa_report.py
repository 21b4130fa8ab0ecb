#!/usr/bin/env python3
"""Writes the qa1–qa3 sections of docs/RESULTS.md from the records of scripts/results/qa.sh
(results/qa/<arch>, scripts/results/record.py).

    python3 scripts/results/qa_report.py [RECORDS]      # default results/qa: one record per architecture

Sections (replaced on every run; a hand-written "qa: reading the results" section is kept):
  "qa1–qa3: every architecture trained the same way" — accuracy against length per task;
  "qa1–qa3: the curriculum, architecture by architecture" — every stage's wall time and accuracy at
  its own length, per task, and the first architecture's validation curve.
"""
import json
import time

from report_common import (cpu, generic, label, long_lengths, percent, records_folder, records_of,
                           training_tokens, write_task_report)

START = time.time()
HEADS = ("## qa1–qa3: every architecture trained the same way",
         "## qa1–qa3: the curriculum, architecture by architecture")
TASKS = ("qa1", "qa2", "qa3")


def main():
    runs = records_folder("results/qa")
    archs = records_of(runs, "qa.sh")
    lengths = long_lengths(runs, archs, TASKS[0])
    table = ["| architecture | task | " + " | ".join(label(n) for n in lengths) + " |", "|---|---|" + "---:|" * len(lengths)]
    for a in archs:
        for t in TASKS:
            recs = json.load(open(f"{runs}/{a}/eval_long-{t}.json"))
            table.append(f"| {a} | {t} | " + " | ".join(percent([r for r in recs if r["length"] == n]) for n in lengths) + " |")
    first = json.load(open(f"{runs}/{archs[0]}/summary.json"))
    per_cell = sum(r["samples"] for r in json.load(open(f"{runs}/{archs[0]}/eval_long-qa1.json")) if r["length"] == lengths[0])
    nl = "\n"
    section = f"""{HEADS[0]}

Made by `scripts/results/qa.sh` (one model: `MODEL=… scripts/results/qa.sh`) and
`scripts/results/qa_report.py` (this section). BABILong-style reasoning (docs/TASKS.md): bAbI facts
spread through KJV text, then a question — qa1 where a person is, qa2 where an object is (who holds
it), qa3 where an object was before a place. Every architecture: its `configs/<arch>-passkey.json`
(within 1% of 58,860 parameters), one model trained on an equal mixture of the three tasks by the
same five stages as S-NIAH (seeds 1–5, batch 16, lengths 512 → 1K → 2K, then a 2K and a 4K stage
with `--write-penalty 0.2` for the architectures with a neural memory), {training_tokens(first) / 1e6:.0f}M
tokens, one thread, trained on lengths ≤ 4K only. The commands, with `$MODEL` the config's stem:

```
{nl.join(generic(first, c) for c in first["train_commands"] + first["long_commands"])}
```

Each cell: % of {per_cell} examples answered (evaluation seed 100, which the trainer never draws
from; greedy decoding; right when the first word of the output is the answer). The transformer (a
cache that grows with the length) is scored to 16K. Machine: {cpu()}, 2 cores, two runs side by side.

{nl.join(table)}

"""
    write_task_report(HEADS, section, runs, archs, TASKS, 200, "qa1–qa3", START)


if __name__ == "__main__":
    main()
