#!/usr/bin/env python3
"""Writes the S-NIAH sections of docs/RESULTS.md from the records of scripts/results/niah.sh
(results/niah/<arch>, scripts/results/record.py).

    python3 scripts/results/niah_report.py [RECORDS]      # default results/niah: one record per architecture

Sections (replaced on every run; the hand-written "reading the results" section is kept):
  "S-NIAH: every architecture trained the same way" — Titans Table 2's shape (2K/4K/8K/16K per task),
  then the longer lengths;
  "S-NIAH: the curriculum, architecture by architecture" — every stage's wall time and accuracy at
  its own length, per task, and the first architecture's validation curve.
"""
import json
import time

from report_common import (cpu, generic, label, long_lengths, percent, records_folder, records_of,
                           task_name, training_tokens, write_task_report)

START = time.time()
HEADS = ("## S-NIAH: every architecture trained the same way",
         "## S-NIAH: the curriculum, architecture by architecture")
TASKS = ("sniah1", "sniah2", "sniah3")
TABLE2 = (2000, 4000, 8000, 16000)  # Titans Table 2's lengths
# Titans Table 2 (docs/../spec: ../shared/spec/tasks.md), the rows of the paper's Titans variants.
PAPER = {"Titans LMM": ("99.8 / 98.4 / 98.2 / 96.2", "100 / 99.8 / 93.4 / 80.2", "90.4 / 89.4 / 85.8 / 80.6"),
         "Titans MAC": ("99.2 / 98.8 / 99.0 / 98.4", "99.6 / 98.2 / 97.6 / 97.4", "98.2 / 98.2 / 95.6 / 95.2"),
         "Titans MAG": ("99.4 / 98.0 / 97.4 / 97.4", "99.2 / 98.8 / 97.2 / 98.6", "98.0 / 98.0 / 90.2 / 88.2"),
         "Titans MAL": ("98.8 / 98.6 / 98.8 / 97.8", "99.8 / 98.1 / 96.8 / 96.4", "98.0 / 97.4 / 92.0 / 90.4")}


def main():
    runs = records_folder("results/niah")
    archs = records_of(runs, "niah.sh")
    beyond = [n for n in long_lengths(runs, archs, TASKS[0]) if n > TABLE2[-1]]

    head = "| architecture | " + " | ".join(f"{task_name(t)}: 2K / 4K / 8K / 16K" for t in TASKS) + " |"
    table2 = [head, "|---|" + "---|" * len(TASKS)]
    far = ["| architecture | task | " + " | ".join(label(n) for n in beyond) + " |", "|---|---|" + "---:|" * len(beyond)]
    for a in archs:
        cells = []
        for t in TASKS:
            recs = json.load(open(f"{runs}/{a}/eval_long-{t}.json"))
            cells.append(" / ".join(percent([r for r in recs if r["length"] == n]) for n in TABLE2))
            far.append(f"| {a} | {task_name(t)} | " + " | ".join(percent([r for r in recs if r["length"] == n]) for n in beyond) + " |")
        table2.append(f"| {a} | " + " | ".join(cells) + " |")
    for name, cells in PAPER.items():
        table2.append(f"| *{name} (paper)* | " + " | ".join(f"*{c}*" for c in cells) + " |")

    first = json.load(open(f"{runs}/{archs[0]}/summary.json"))
    per_cell = sum(r["samples"] for r in json.load(open(f"{runs}/{archs[0]}/eval_long-sniah1.json")) if r["length"] == TABLE2[0])
    nl = "\n"
    section = f"""{HEADS[0]}

Made by `scripts/results/niah.sh` (one model: `MODEL=… scripts/results/niah.sh`) and
`scripts/results/niah_report.py` (this section). RULER's single needle as Titans Table 2 uses it
(docs/TASKS.md): S-NIAH-1 hides a 7-digit number in the passkey filler, S-NIAH-2 in KJV text,
S-NIAH-3 a UUID in KJV text; the question names the needle's key (an adjective-noun pair). Every
architecture: its `configs/<arch>-passkey.json` (the passkey section's models, within 1% of 58,860
parameters), one model trained on an equal mixture of the three tasks by the same five stages
(seeds 1–5, batch 16, lengths 512 → 1K → 2K, then a 2K stage and a 4K stage with `--write-penalty
0.2` for the architectures with a neural memory), one thread, trained on lengths ≤ 4K only. The
commands, with `$MODEL` the config's stem:

```
{nl.join(generic(first, c) for c in first["train_commands"] + first["long_commands"])}
```

Each cell: % of {per_cell} examples (depths 0, 0.25, 0.5, 0.75, 1; evaluation seed 100, which the
trainer never draws from; greedy decoding; right when the value appears in the output). The
transformer (a cache that grows with the length) is scored to 16K. The paper's rows (in italics)
are its own models', orders of magnitude larger than these, which see {training_tokens(first) / 1e6:.0f}M tokens
each. Machine: {cpu()}, 2 cores, two runs side by side.

{nl.join(table2)}

Beyond 16K (% of {per_cell} examples):

{nl.join(far)}

"""
    write_task_report(HEADS, section, runs, archs, TASKS, 40, "S-NIAH", START)


if __name__ == "__main__":
    main()
