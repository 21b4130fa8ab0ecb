#!/usr/bin/env python3
"""Writes the language-modelling section of docs/RESULTS.md from the records of scripts/results/lm.sh
(results/lm/<arch>).

    python3 scripts/results/lm_report.py [RECORDS]      # default results/lm: one record per architecture

The section "Language modelling: every architecture trained the same way" is replaced on every run;
a hand-written "Language modelling: reading the results" section is kept.
"""
import json
import time

from report_common import cpu, records_folder, records_of, replace_sections

START = time.time()
HEADS = ("## Language modelling: every architecture trained the same way",)


def buckets(path):
    rows = [line.split("\t") for line in open(path).read().splitlines()[1:]]
    return [(int(p), float(b), int(n)) for p, b, n in rows]


def main():
    runs = records_folder("results/lm")
    archs = records_of(runs, "lm.sh")
    first = json.load(open(f"{runs}/{archs[0]}/summary.json"))
    edges = [p for p, _, _ in buckets(f"{runs}/{archs[0]}/loss_by_position.tsv")]
    table = ["| architecture | parameters | training wall time | validation bits per byte (streamed) | "
             + " | ".join(f"{p // 1024}–{p // 1024 + 4}K" for p in edges) + " |",
             "|---|---:|---:|---:|" + "---:|" * len(edges)]
    for a in archs:
        s = json.load(open(f"{runs}/{a}/summary.json"))
        bpb = next(float(l.split(":")[1]) for l in open(f"{runs}/{a}/stream.txt") if l.startswith("bits per byte"))
        cells = [f"{b:.3f}" for _, b, _ in buckets(f"{runs}/{a}/loss_by_position.tsv")]
        table.append(f"| {a} | {s['parameters']:,} | {s['train_wall_s'] / 60:.1f} min | **{bpb:.3f}** | " + " | ".join(cells) + " |")
    generic = lambda c: c.replace(f"/{first['model']}", "/$MODEL").replace(f"/{first['model']}-", "/$MODEL-")
    nl = "\n"
    section = f"""{HEADS[0]}

Made by `scripts/results/lm.sh` and `scripts/results/lm_report.py` (this section). Every
architecture: its `configs/<arch>-passkey.json` (2 layers, d_model 32, within 1% of 58,860
parameters; byte tokens), trained on the KJV's training split (data/kjv.txt less its last 1%) by
the same recipe — random windows of 1,024 bytes, batch 16, 1,500 steps (24.6M tokens), lr 3e-3,
seed 1, one thread — then the whole validation split (the last 1% of the bytes, 43,940 bytes: the
end of Revelation) streamed through it once, state carried from the first byte to the last. The
rows `<arch>_forget` are the same Titans models with the memory's forgetting on
(`configs/<arch>_forget-lm.json`: `memory.decay: true`, the learned, data-dependent α of Titans
Eq. 13; the passkey models have it off, models/README.md); the rows `<arch>_gatesum` are MAC and
MAG with the gate `sum` in place of `sigmoid` (`configs/<arch>_gatesum-lm.json`; src/models/gate.h).
The commands, with `$MODEL` the config's stem (a variant's config is `configs/$MODEL-lm.json`):

```
{generic(first["train_command"])}
{generic(first["stream_command"])}
```

Bits per byte over the whole validation text, then by position in it (4,096-byte buckets; the
models were trained on windows of 1,024). Machine: {cpu()}, 2 cores, two runs side by side.

{nl.join(table)}

Report written in {time.time() - START:.0f} s.
"""
    replace_sections(HEADS, section, before="## Language modelling: reading the results")
    print(f"wrote the language-modelling section of docs/RESULTS.md ({len(archs)} architectures) in {time.time() - START:.1f} s")


if __name__ == "__main__":
    main()
