"""What the report scripts of scripts/results/ share: reading the records of curriculum.sh's runs
(through passkey.sh, niah.sh and qa.sh) and replacing sections of docs/RESULTS.md (lm_report.py
uses the last part only: lm.sh's records have a layout of their own).

A record (results/<RUN>/<arch>, written by record.py) holds summary.json (the recipe's commands and
the parameter count), eval_long-<task>.{json,wall_s,cmd} and stage<i>-seq<n>/ (wall_s,
eval-<task>.json, curve.json).
"""
import json
import os
import platform
import subprocess
import sys
import time

ORDER = ["titans_mac", "titans_mag", "titans_mal", "titans_lmm", "infini", "infini_delta", "swa", "transformer"]
DOC = os.environ.get("RESULTS_DOC", "docs/RESULTS.md")  # another file: the pipeline test's


def records_of(records, script):
    """The architectures (and variants) with a record under `records`: ORDER's, then the others by
    name."""
    found = {a for a in os.listdir(records) if os.path.isfile(f"{records}/{a}/summary.json")} if os.path.isdir(records) else set()
    archs = [a for a in ORDER if a in found] + sorted(found - set(ORDER))
    if not archs:
        sys.exit(f"no {records}/<arch>/summary.json (run scripts/results/{script} first)")
    return archs


def records_folder(default):
    """The records' folder: the command line's argument, else `default`; then the working directory
    is the repository's, where the paths the reports print are relative to."""
    given = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    return given or default


def stages(run):
    return sorted((d for d in os.listdir(run) if d.startswith("stage")), key=lambda d: int(d[5:d.index("-")]))


def stage_command(summary, stage):
    """The training command of stage folder `stage` (stageN-seqL: the recipe's Nth command), split."""
    return summary["train_commands"][int(stage[5:stage.index("-")]) - 1].split()


def flag(words, name, default="—"):
    return words[words.index(name) + 1] if name in words else default


def accuracy(path):
    """(accuracy, examples, records) of a `titans eval --json` file."""
    recs = json.load(open(path))
    n = sum(r["samples"] for r in recs)
    return sum(r["accuracy"] * r["samples"] for r in recs) / n, n, recs


def answered(recs):
    """"right/total" of some records."""
    return f"{sum(round(r['accuracy'] * r['samples']) for r in recs)}/{sum(r['samples'] for r in recs)}"


def training_tokens(summary):
    """Tokens the whole recipe trains on: length × batch × steps, summed over its stages."""
    total = 0
    for cmd in summary["train_commands"]:
        words = cmd.split()
        total += int(flag(words, "--seq")) * int(flag(words, "--batch")) * int(flag(words, "--steps")) * int(flag(words, "--accum", "1"))
    return total


def training_wall_s(run):
    return sum(float(open(f"{run}/{d}/wall_s").read()) for d in stages(run))


def label(n):
    """A length as `titans eval --lengths` spells it (2K = 2,000; 1,024 also reads 1K)."""
    for unit, size in (("M", 1000000), ("K", 1000), ("M", 1048576), ("K", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def long_lengths(runs, archs, task):
    lengths = {r["length"] for a in archs for r in json.load(open(f"{runs}/{a}/eval_long-{task}.json"))}
    return sorted(lengths)


def generic(summary, cmd):
    """A command of one architecture's recipe with its name replaced by $MODEL."""
    model = summary["model"]
    return cmd.replace(f"/{model}/", "/$MODEL/").replace(f"/{model}-passkey", "/$MODEL-passkey")


def validation_curve(run):
    """The trainer's validation records of every stage, as table rows."""
    rows = ["| stage (length) | step | training loss (mean since the last eval) | validation loss | validation accuracy (teacher-forced) |",
            "|---|---:|---:|---:|---:|"]
    for d in stages(run):
        for r in json.load(open(f"{run}/{d}/curve.json")):
            mean = "—" if r["train_loss"] is None else f"{r['train_loss']:.4f}"
            rows.append(f"| {d} | {r['step']} | {mean} | {r['eval_loss']:.4f} | {100 * r['eval_accuracy']:.2f}% |")
    return rows


TASK_NAMES = {"sniah1": "S-NIAH-1", "sniah2": "S-NIAH-2", "sniah3": "S-NIAH-3"}


def task_name(task):
    return TASK_NAMES.get(task, task)


def percent(recs):
    """The accuracy of some records in %, rounded; "—" for none."""
    n = sum(r["samples"] for r in recs)
    return f"{100 * sum(r['accuracy'] * r['samples'] for r in recs) / n:.0f}" if n else "—"


def stage_table(records, archs, tasks):
    """Every stage of every architecture: its recipe, wall time and accuracy per task at its length."""
    rows = ["| architecture | stage: length, steps, penalty | wall time | " + " | ".join(
        f"{task_name(t)} at its length" for t in tasks) + " |", "|---|---|---:|" + "---:|" * len(tasks)]
    for a in archs:
        run = f"{records}/{a}"
        summary = json.load(open(f"{run}/summary.json"))
        for d in stages(run):
            words = stage_command(summary, d)
            cells = []
            for t in tasks:
                acc, n, _ = accuracy(f"{run}/{d}/eval-{t}.json")
                cells.append(f"{100 * acc:.1f}% ({n})")
            rows.append(f"| {a} | {d.split('-seq')[1]}, {flag(words, '--steps')}, {flag(words, '--write-penalty')} | "
                        f"{float(open(f'{run}/{d}/wall_s').read()):.0f} s | " + " | ".join(cells) + " |")
    return rows


def cost_table(records, archs, tasks):
    """Every architecture's parameters, training tokens and wall times."""
    rows = ["| architecture | parameters | training tokens | training wall time | long evaluation wall time |",
            "|---|---:|---:|---:|---:|"]
    for a in archs:
        run = f"{records}/{a}"
        summary = json.load(open(f"{run}/summary.json"))
        long_wall = sum(int(open(f"{run}/eval_long-{t}.wall_s").read()) for t in tasks)
        rows.append(f"| {a} | {summary['parameters']:,} | {training_tokens(summary) / 1e6:.1f}M | "
                    f"{training_wall_s(run) / 60:.0f} min | {long_wall} s |")
    return rows


def curriculum_section(head, records, archs, tasks, samples):
    """The section of every stage's scores, per task, and the first architecture's validation curve."""
    nl = "\n"
    return f"""{head}

Every stage's model at its own training length, each task: `titans eval --lengths <its length>
--samples {samples} --seed 100` (the examples in brackets). Then {archs[0]}'s validation curve (the
trainer's 64 fixed examples of the mixture, argmax at the answer's tokens with the true answer fed):

{nl.join(stage_table(records, archs, tasks))}

{nl.join(validation_curve(f"{records}/{archs[0]}"))}
"""


def write_task_report(heads, body, records, archs, tasks, samples, what, start):
    """A mixture's report: `body` (heads[0]'s section up to its tables), the cost table, then the
    curriculum section; written before "## <what>: reading the results" if there is one."""
    section = (body + "\n" + "\n".join(cost_table(records, archs, tasks)) + "\n\n"
               + curriculum_section(heads[1], records, archs, tasks, samples)
               + f"\nReport written in {time.time() - start:.0f} s.\n")
    replace_sections(heads, section, before=f"## {what}: reading the results")
    print(f"wrote the {what} sections of {DOC} ({len(archs)} architectures) in {time.time() - start:.1f} s")


def cpu():
    name = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    isa = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
    return f"{name or platform.processor()} ({isa})"


def replace_sections(heads, section, before=None, old_heads=()):
    """Removes the sections titled `heads` (and `old_heads`) from docs/RESULTS.md and puts `section`
    where the first of them was, else before the section titled `before`, else at the end."""
    doc = open(DOC).read() if os.path.exists(DOC) else "# Results\n\nMeasured results, each made by a script under scripts/results/.\n"
    at = None
    for head in tuple(heads) + tuple(old_heads):
        while head + "\n" in doc:
            start = doc.index(head + "\n")
            nxt = doc.find("\n## ", start + len(head))
            doc = doc[:start] + (doc[nxt + 1:] if nxt >= 0 else "")
            at = start if at is None else min(at, start)
    if at is None and before and before in doc:
        at = doc.index(before)
    if at is None:
        doc = doc.rstrip("\n") + "\n\n" + section
    else:
        doc = doc[:at] + section + "\n" + doc[at:]
    open(DOC, "w").write(doc)
