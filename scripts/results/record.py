#!/usr/bin/env python3
"""Copies what the report scripts read from a run of scripts/results/curriculum.sh into its record,
a folder small enough to commit (results/<RUN>/<arch>), so that docs/RESULTS.md regenerates from
the repository without the run folder (its checkpoints and logs stay in runs/, which git ignores).

    python3 scripts/results/record.py OUT RECORD BIN

The record: summary.json (with the model's parameter count, from `BIN inspect`), the long
evaluations (eval_long-<task>.json, .wall_s, .cmd) and passkey_confirm.sh's (confirm*), and per stage its wall_s, eval-<task>.json and
curve.json (the trainer's validation records, each with the mean training loss since the last).
"""
import json
import os
import shutil
import subprocess
import sys


def parameters(binary, model):
    out = subprocess.run([binary, "inspect", model], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("total"):
            return int(line.split()[-1])
    sys.exit(f"record.py: `{binary} inspect {model}` printed no total")


def curve(log):
    rows, losses = [], []
    for line in open(log):
        r = json.loads(line)
        if "eval_accuracy" in r:
            mean = sum(losses) / len(losses) if losses else None
            rows.append({"step": r["step"], "train_loss": mean, "eval_loss": r["eval_loss"], "eval_accuracy": r["eval_accuracy"]})
            losses = []
        elif "loss" in r:
            losses.append(r["loss"])
    return rows


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, record, binary = sys.argv[1:]
    tmp = record.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    summary = json.load(open(f"{out}/summary.json"))
    summary["parameters"] = parameters(binary, f"{out}/model.safetensors")
    json.dump(summary, open(f"{tmp}/summary.json", "w"), indent=1)
    for f in sorted(os.listdir(out)):
        if f.startswith(("eval_long-", "confirm")) and f.endswith((".json", ".wall_s", ".cmd")):
            shutil.copy(f"{out}/{f}", tmp)
        elif f.startswith("stage") and os.path.isdir(f"{out}/{f}"):
            os.makedirs(f"{tmp}/{f}")
            for g in os.listdir(f"{out}/{f}"):
                if g == "wall_s" or (g.startswith("eval-") and g.endswith(".json")):
                    shutil.copy(f"{out}/{f}/{g}", f"{tmp}/{f}")
            json.dump(curve(f"{out}/{f}/log.jsonl"), open(f"{tmp}/{f}/curve.json", "w"), indent=0)
    # The old record goes only once the new one is whole.
    old = record.rstrip("/") + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.isdir(record):
        os.rename(record, old)
    os.rename(tmp, record)
    shutil.rmtree(old, ignore_errors=True)
    print(f"record.py: {record}")


if __name__ == "__main__":
    main()
