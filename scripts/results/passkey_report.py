#!/usr/bin/env python3
"""Writes the passkey sections of docs/RESULTS.md from the runs of scripts/results/passkey.sh.

    python3 scripts/results/passkey_report.py [RUNS]      # RUNS: runs/passkey (one folder per architecture)

Sections (replaced on every run; the hand-written "reading the results" section is kept):
  "Passkey: every architecture trained the same way" — the long-context table of each final model;
  "Passkey: the curriculum, architecture by architecture" — every stage's wall time and accuracy at
  its own length, and titans_mac's validation curve.
"""
import json
import os
import platform
import subprocess
import sys
import time

START = time.time()
ORDER = ["titans_mac", "titans_mag", "titans_mal", "titans_lmm", "infini", "infini_delta", "swa", "transformer"]
DOC = "docs/RESULTS.md"
HEADS = ("## Passkey: every architecture trained the same way",
         "## Passkey: the curriculum, architecture by architecture")
# Sections of earlier reports this one replaces. The stage-1–4 record of the committed stage-4
# model (made by the earlier passkey_mac.sh) is kept: its runs are not in runs/passkey.
OLD_HEADS = ("## Passkey: the committed model beyond its training length",)


def stages(run):
    return sorted((d for d in os.listdir(run) if d.startswith("stage")), key=lambda d: int(d[5:d.index("-")]))


def accuracy(path):
    recs = json.load(open(path))
    n = sum(r["samples"] for r in recs)
    return sum(r["accuracy"] * r["samples"] for r in recs) / n, n, recs


def parameters(model):
    out = subprocess.run(["build/bin/titans", "inspect", model], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("total"):
            return int(line.split()[-1])
    return 0


def main():
    runs = sys.argv[1] if len(sys.argv) > 1 else "runs/passkey"
    archs = [a for a in ORDER if os.path.isfile(f"{runs}/{a}/summary.json")]
    if not archs:
        sys.exit(f"passkey_report.py: no {runs}/<arch>/summary.json (run scripts/results/passkey.sh first)")
    lengths = []
    for a in archs:
        for r in json.load(open(f"{runs}/{a}/eval_long.json")):
            if r["length"] not in lengths:
                lengths.append(r["length"])
    lengths.sort()
    # `titans eval --lengths 2K,1M` means 2,000 and 1,000,000 tokens; the stages' lengths are plain.
    def label(n):
        for unit, size in (("M", 1000000), ("K", 1000), ("M", 1048576), ("K", 1024)):
            if n >= size and n % size == 0:
                return f"{n // size}{unit}"
        return str(n)

    head = "| architecture | parameters | training wall time | at its last stage's length (200 held-out) | " + " | ".join(label(n) for n in lengths) + " |"
    rows = [head, "|---|---:|---:|---:|" + "---:|" * len(lengths)]
    depth_rows = ["| architecture | length | depth 0 / 0.25 / 0.5 / 0.75 / 1 |", "|---|---:|---|"]
    for a in archs:
        run = f"{runs}/{a}"
        wall = sum(float(open(f"{run}/{d}/wall_s").read()) for d in stages(run))
        summary = json.load(open(f"{run}/summary.json"))
        first = summary.get("start_stage", 1)
        wall_cell = f"{wall / 60:.0f} min" + (f" (stages {first}–; 1–{first - 1}: `{summary['start_model']}`)" if first > 1 else "")
        acc, n, _ = accuracy(f"{run}/{stages(run)[-1]}/eval.json")
        cells = []
        recs = json.load(open(f"{run}/eval_long.json"))
        for length in lengths:
            at = sorted((r for r in recs if r["length"] == length), key=lambda r: r["depth"])
            if not at:
                cells.append("—")
                continue
            right = sum(round(r["accuracy"] * r["samples"]) for r in at)
            total = sum(r["samples"] for r in at)
            cells.append(f"{right}/{total}")
            depth_rows.append(f"| {a} | {label(length)} | " + " / ".join(f"{100 * r['accuracy']:.0f}" for r in at) + " |")
        rows.append(f"| {a} | {parameters(run + '/model.safetensors'):,} | {wall_cell} | {100 * acc:.1f}% | " + " | ".join(cells) + " |")

    mac = json.load(open(f"{runs}/{archs[0]}/summary.json"))
    generic = lambda cmd: cmd.replace(f"/{mac['model']}", "/$MODEL").replace(f"{mac['model']}-passkey", "$MODEL-passkey")
    stage_rows = ["| architecture | stage: length, steps, penalty | wall time | greedy accuracy at its length (200 held-out) | by depth 0 / 0.25 / 0.5 / 0.75 / 1 |",
                  "|---|---|---:|---:|---|"]
    for a in archs:
        run = f"{runs}/{a}"
        summary = json.load(open(f"{run}/summary.json"))
        cmds = summary["train_commands"]
        for d in stages(run):
            cmd = cmds[int(d[5:d.index("-")]) - 1]  # stageN-seqL: the recipe's Nth command
            words = cmd.split()
            steps = words[words.index("--steps") + 1]
            pen = words[words.index("--write-penalty") + 1] if "--write-penalty" in words else "—"
            acc, n, recs = accuracy(f"{run}/{d}/eval.json")
            by_depth = " / ".join(f"{100 * r['accuracy']:.1f}" for r in sorted(recs, key=lambda r: r["depth"]))
            stage_rows.append(f"| {a} | {d.split('-seq')[1]}, {steps}, {pen} | {float(open(f'{run}/{d}/wall_s').read()):.0f} s | {100 * acc:.1f}% | {by_depth} |")

    curve = ["| stage (length) | step | training loss (mean since the last eval) | validation loss | validation accuracy (teacher-forced) |",
             "|---|---:|---:|---:|---:|"]
    run = f"{runs}/{archs[0]}"
    for d in stages(run):
        losses = []
        for line in open(f"{run}/{d}/log.jsonl"):
            r = json.loads(line)
            if "eval_accuracy" in r:
                mean = sum(losses) / len(losses) if losses else float("nan")
                curve.append(f"| {d} | {r['step']} | {mean:.4f} | {r['eval_loss']:.4f} | {100 * r['eval_accuracy']:.2f}% |")
                losses = []
            elif "loss" in r:
                losses.append(r["loss"])

    confirm = ""
    for a in archs:
        run = f"{runs}/{a}"
        # confirm.* (seed 200) and confirm-seed<S>.* (SEED=S), as scripts/results/passkey_confirm.sh names them
        for name in sorted((f[:-5] for f in os.listdir(run) if f.startswith("confirm") and f.endswith(".json")),
                           key=lambda n: (n != "confirm", n)):
            if not os.path.isfile(f"{run}/{name}.cmd"):
                continue
            cmd = open(f"{run}/{name}.cmd").read().strip()
            seed = cmd.split("--seed ")[1].split()[0]
            recs = sorted(json.load(open(f"{run}/{name}.json")), key=lambda r: (r["length"], r["depth"]))
            lines = ["| length | depth | answered | accuracy |", "|---:|---:|---:|---:|"]
            for r in recs:
                lines.append(f"| {label(r['length'])} | {r['depth']:g} | {round(r['accuracy'] * r['samples'])}/{r['samples']} | {100 * r['accuracy']:.1f}% |")
            confirm += (f"\n{a} with more examples (`scripts/results/passkey_confirm.sh`; evaluation seed {seed}, "
                        f"wall time {open(f'{run}/{name}.wall_s').read().strip()} s):\n\n"
                        f"```\n{cmd}\n```\n\n" + "\n".join(lines) + "\n")

    cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
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
{nl.join(generic(c) for c in mac["train_commands"])}
{generic(mac["long_command"])}
```

The transformer (full attention, a cache that grows with the length) is scored to 16K. Each cell:
examples answered of 5 (one per depth 0, 0.25, 0.5, 0.75, 1; evaluation seed 100, which the trainer
never draws from; greedy decoding, the first integer of at most 8 tokens equals the key). Machine:
{cpu or platform.processor()}, 2 cores, two runs side by side (wall times are of a shared machine).

{nl.join(rows)}

By depth (% of 1 example per cell):

{nl.join(depth_rows)}
{confirm}
{HEADS[1]}

Every stage's model at its own training length: `titans eval --lengths <its length> --samples 40
--seed 100` (200 examples). Then {archs[0]}'s validation curve (the trainer's 64 fixed examples,
argmax at the answer's tokens with the true answer fed):

{nl.join(stage_rows)}

{nl.join(curve)}

Report written in {time.time() - START:.0f} s.
"""
    doc = open(DOC).read() if os.path.exists(DOC) else "# Results\n\nMeasured results, each made by a script under scripts/results/.\n"
    for head in HEADS + OLD_HEADS:
        while head in doc:
            start = doc.index(head)
            nxt = doc.find("\n## ", start + len(head))
            doc = doc[:start] + (doc[nxt + 1:] if nxt >= 0 else "")
    # Before the hand-written reading, if there is one.
    mark = "## Passkey: reading the results"
    if mark in doc:
        i = doc.index(mark)
        doc = doc[:i] + section + "\n" + doc[i:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + section
    open(DOC, "w").write(doc)
    print(f"wrote the passkey sections of {DOC} ({len(archs)} architectures) in {time.time() - START:.1f} s")


if __name__ == "__main__":
    main()
