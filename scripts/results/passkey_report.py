#!/usr/bin/env python3
"""Writes the passkey sections of docs/RESULTS.md from the records of scripts/results/passkey.sh
(results/passkey/<arch>, scripts/results/record.py).

    python3 scripts/results/passkey_report.py [RECORDS]      # default results/passkey: one record per architecture

Sections (replaced on every run; the hand-written "reading the results" section is kept):
  "Passkey: every architecture trained the same way" — the long-context table of each final model;
  "Passkey: the curriculum, architecture by architecture" — every stage's wall time and accuracy at
  its own length, and the first architecture's validation curve.
"""
import json
import os
import time

from report_common import (accuracy, answered, cpu, flag, generic, label, long_lengths, records_folder,
                           records_of, replace_sections, stage_command, stages, training_wall_s,
                           validation_curve)

START = time.time()
HEADS = ("## Passkey: every architecture trained the same way",
         "## Passkey: the curriculum, architecture by architecture")
# Sections of earlier reports this one replaces. The stage-1–4 record of the committed stage-4
# model (made by the earlier passkey_mac.sh) is kept: its runs are not in runs/passkey.
OLD_HEADS = ("## Passkey: the committed model beyond its training length",)


def confirmations(run, arch):
    """confirm.* (seed 200) and confirm-seed<S>.* (SEED=S), as scripts/results/passkey_confirm.sh names them."""
    text = ""
    names = sorted((f[:-5] for f in os.listdir(run) if f.startswith("confirm") and f.endswith(".json")),
                   key=lambda n: (n != "confirm", n))
    for name in names:
        if not os.path.isfile(f"{run}/{name}.cmd"):
            continue
        cmd = open(f"{run}/{name}.cmd").read().strip()
        seed = cmd.split("--seed ")[1].split()[0]
        recs = sorted(json.load(open(f"{run}/{name}.json")), key=lambda r: (r["length"], r["depth"]))
        lines = ["| length | depth | answered | accuracy |", "|---:|---:|---:|---:|"]
        for r in recs:
            lines.append(f"| {label(r['length'])} | {r['depth']:g} | {answered([r])} | {100 * r['accuracy']:.1f}% |")
        text += (f"\n{arch} with more examples (`scripts/results/passkey_confirm.sh`; evaluation seed {seed}, "
                 f"wall time {open(f'{run}/{name}.wall_s').read().strip()} s):\n\n"
                 f"```\n{cmd}\n```\n\n" + "\n".join(lines) + "\n")
    return text


def main():
    runs = records_folder("results/passkey")
    archs = records_of(runs, "passkey.sh")
    lengths = long_lengths(runs, archs, "passkey")

    rows = ["| architecture | parameters | training wall time | at its last stage's length (200 held-out) | "
            + " | ".join(label(n) for n in lengths) + " |",
            "|---|---:|---:|---:|" + "---:|" * len(lengths)]
    depth_rows = ["| architecture | length | depth 0 / 0.25 / 0.5 / 0.75 / 1 |", "|---|---:|---|"]
    stage_rows = ["| architecture | stage: length, steps, penalty | wall time | greedy accuracy at its length (200 held-out) | by depth 0 / 0.25 / 0.5 / 0.75 / 1 |",
                  "|---|---|---:|---:|---|"]
    confirm = ""
    for a in archs:
        run = f"{runs}/{a}"
        summary = json.load(open(f"{run}/summary.json"))
        first = summary.get("start_stage", 1)
        wall_cell = f"{training_wall_s(run) / 60:.0f} min"
        if first > 1:
            wall_cell += f" (stages {first}–; 1–{first - 1}: `{summary['start_model']}`)"
        acc, _, _ = accuracy(f"{run}/{stages(run)[-1]}/eval-passkey.json")
        recs = json.load(open(f"{run}/eval_long-passkey.json"))
        cells = []
        for length in lengths:
            at = sorted((r for r in recs if r["length"] == length), key=lambda r: r["depth"])
            cells.append(answered(at) if at else "—")
            if at:
                depth_rows.append(f"| {a} | {label(length)} | " + " / ".join(f"{100 * r['accuracy']:.0f}" for r in at) + " |")
        rows.append(f"| {a} | {summary['parameters']:,} | {wall_cell} | {100 * acc:.1f}% | " + " | ".join(cells) + " |")
        for d in stages(run):
            words = stage_command(summary, d)
            acc, _, recs = accuracy(f"{run}/{d}/eval-passkey.json")
            by_depth = " / ".join(f"{100 * r['accuracy']:.1f}" for r in sorted(recs, key=lambda r: r["depth"]))
            stage_rows.append(f"| {a} | {d.split('-seq')[1]}, {flag(words, '--steps')}, {flag(words, '--write-penalty')} | "
                              f"{float(open(f'{run}/{d}/wall_s').read()):.0f} s | {100 * acc:.1f}% | {by_depth} |")
        confirm += confirmations(run, a)

    first = json.load(open(f"{runs}/{archs[0]}/summary.json"))
    per_cell = sum(r["samples"] for r in json.load(open(f"{runs}/{archs[0]}/eval_long-passkey.json")) if r["length"] == lengths[0])
    long_walls = ", ".join(f"{a} {open(f'{runs}/{a}/eval_long-passkey.wall_s').read().strip()} s" for a in archs)
    nl = "\n"
    section = f"""{HEADS[0]}

Made by `scripts/results/passkey.sh` (one model: `MODEL=… scripts/results/passkey.sh`) and
`scripts/results/passkey_report.py` (this section). Every architecture: its
`configs/<arch>-passkey.json` (2 layers, d_model 32, 2 heads of 16; the FFN width sets the
parameters to within 1% of each other), the same six stages on the same data (seeds 1–6, batch 16,
lengths 256 → 512 → 1K → 2K, then a 2K stage and a 4K stage with `--write-penalty 0.2` for the
architectures with a neural memory; the others take the same stages without it), one thread,
trained on lengths ≤ 4K (4,096 tokens) only. A run that started from an earlier stage's
committed model (`START_STAGE`, `START_MODEL`) says so in its wall-time cell: that model was made by
the same commands. `infini_delta` is `infini` with the delta rule. The commands, with
`$MODEL` the config's stem:

```
{nl.join(generic(first, c) for c in first["train_commands"] + first["long_commands"])}
```

The transformer (full attention, a cache that grows with the length) is scored to 16K. Each cell:
examples answered of {per_cell} (depths 0, 0.25, 0.5, 0.75, 1; evaluation seed 100, which the trainer
never draws from; greedy decoding, the first integer of at most 8 tokens equals the key). Machine:
{cpu()}, 2 cores, two runs side by side (wall times are of a shared machine). The long
evaluations' wall times: {long_walls}.

{nl.join(rows)}

By depth (% of the examples per cell):

{nl.join(depth_rows)}
{confirm}
{HEADS[1]}

Every stage's model at its own training length: `titans eval --lengths <its length> --samples 40
--seed 100` (200 examples). Then {archs[0]}'s validation curve (the trainer's 64 fixed examples,
argmax at the answer's tokens with the true answer fed):

{nl.join(stage_rows)}

{nl.join(validation_curve(f"{runs}/{archs[0]}"))}

Report written in {time.time() - START:.0f} s.
"""
    replace_sections(HEADS, section, before="## Passkey: reading the results", old_heads=OLD_HEADS)
    print(f"wrote the passkey sections of docs/RESULTS.md ({len(archs)} architectures) in {time.time() - START:.1f} s")


if __name__ == "__main__":
    main()
