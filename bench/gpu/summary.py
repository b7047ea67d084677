#!/usr/bin/env python3
"""Tables of bench/gpu/run.sh's figures: parity (a, b), speed and memory (c, d, e), interop (f).

usage: summary.py FIGDIR     Prints Markdown; writes FIGDIR/summary.json.
"""
import csv
import glob
import json
import os
import statistics
import sys


def load(path, default=None):
    try:
        return json.load(open(path))
    except Exception:
        return default


def jsonl(path):
    out = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def peak_memory(fig, steps):
    """Peak GPU memory used (MiB, whole GPU, nvidia-smi) within each step's time window."""
    samples = []
    try:
        import datetime
        for row in csv.reader(open(f"{fig}/gpu_mem.csv")):
            if len(row) < 2:
                continue
            ts = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
            samples.append((ts, float(row[1])))
    except Exception:
        return {}
    if not samples:
        return {}
    base = min(v for _, v in samples)
    out = {}
    for s in steps:
        if "start" not in s:
            continue
        vals = [v for t, v in samples if s["start"] - 0.5 <= t <= s["end"] + 0.5]
        if vals:
            out[s["step"]] = {"peak_mib": max(vals), "above_idle_mib": max(vals) - base}
    return out


def main():
    fig = sys.argv[1]
    steps = jsonl(f"{fig}/steps.jsonl")
    mem = peak_memory(fig, steps)
    S = {"steps": steps, "memory": mem}
    p = print
    p("# bench/gpu results\n")
    env = open(f"{fig}/env.txt").read() if os.path.exists(f"{fig}/env.txt") else ""
    p("```\n" + "\n".join(env.splitlines()[:3]) + "\n```\n")
    doc = load(f"{fig}/doctor.json", {})
    p(f"doctor: CUDA available: **{doc.get('cuda_available')}** {doc.get('cuda_reason', '')}; "
      f"library {doc.get('library', {}).get('path')} {doc.get('library', {}).get('version')}")
    for s in doc.get("smoke", []):
        p(f"- smoke {s['device']}: {'ok' if s['ok'] else 'FAILED ' + s.get('error', '')[:300]} {s.get('placement', '')}")
    if os.path.exists(f"{fig}/doctor_ldpath.txt"):
        p("- note: CUDA needed LD_LIBRARY_PATH (see doctor_ldpath.txt)")

    par = load(f"{fig}/parity.json", {})
    rows = par.get("rows", [])
    S["parity"] = rows
    if rows:
        modes = sorted({r["mode"] for r in rows}, key=lambda m: ["cpu", "cuda", "cuda-resident", "cuda-tf32", "cuda-resident-tf32"].index(m) if m in ["cpu", "cuda", "cuda-resident", "cuda-tf32", "cuda-resident-tf32"] else 9)
        p(f"\n## (a) kadapter-tiny graphs vs ref_float64 (max abs diff over all compared outputs; tolerance {par.get('tolerance')})\n")
        p("| case | " + " | ".join(modes) + " | CPU nodes in cuda-resident |")
        p("|---" * (len(modes) + 2) + "|")
        for case in dict.fromkeys(r["case"] for r in rows):
            cells, cpu = [], ""
            for m in modes:
                r = next((x for x in rows if x["case"] == case and x["mode"] == m), None)
                if r is None:
                    cells.append("")
                elif r.get("error") and not r.get("per_output"):
                    cells.append("error")
                else:
                    cells.append(f"{r['max_abs_diff']:.1e}{'' if r['ok'] else ' ✗'}")
                if r and m == "cuda-resident":
                    cpu = f"{len(r.get('cpu_nodes') or [])} ({r.get('placement', '')})"
            p(f"| {case} | " + " | ".join(cells) + f" | {cpu} |")
        errs = [r for r in rows if r.get("error") and not r.get("per_output")]
        for r in errs[:3]:
            p(f"\n- {r['case']} {r['mode']}: {r['error'][:400]}")

    tf = load(f"{fig}/train_fixtures.json", {})
    S["train_fixtures"] = tf
    p("\n## (b) krun train --loop upstream on the training fixtures vs ref_float64\n")
    if not tf.get("available", False):
        p(f"not available: {tf.get('reason', 'step did not run (see train_fixtures.log)')}")
    else:
        p("| setup | device | rc | lr exact | max loss diff | max final param diff | key biases | params found | s |")
        p("|---|---|---|---|---|---|---|---|---|")
        for r in tf["runs"]:
            if r["rc"] != 0 or "error" in r:
                p(f"| {r['setup']} | {r['device']} | {r['rc']} | error: {r.get('error', '')[:200].replace('|', '/')} | | | | | {r['seconds']:.1f} |")
                continue
            f = lambda x: f"{x:.1e}" if isinstance(x, float) else str(x)
            p(f"| {r['setup']} | {r['device']} | 0 | {r['lr_exact']} | {f(r['loss_max_abs_diff'])} | {f(r.get('final_param_max_abs_diff'))} "
              f"| {f(r.get('key_bias_max_abs_diff'))} | {r.get('params_found')}/{r.get('params_found', 0) + r.get('params_missing', 0)} | {r['seconds']:.1f} |")

    p("\n## (c) inference, RoBERTa-large-sized K-Adapter TACRED model, 8 batches of 32x128 (median of 5 passes)\n")
    speed = []
    for f in sorted(glob.glob(f"{fig}/ort_*.out")):
        for r in jsonl(f):
            speed.append({"engine": "kadapter " + r.get("mode", "?"), "seq_s": r.get("sequences_per_second"), "best": r.get("best_sequences_per_second"),
                          "load_s": r.get("session_load_seconds"), "error": r.get("error"), "step": os.path.basename(f)[:-4], "placement": r.get("placement")})
    for f in sorted(glob.glob(f"{fig}/torch_*.out")):
        if "train" in f:
            continue
        for r in jsonl(f):
            speed.append({"engine": "torch " + r.get("cuda_mode", "?"), "seq_s": r.get("sequences_per_second"), "best": r.get("best_sequences_per_second"),
                          "compile_s": r.get("compile_seconds"), "peak_torch_bytes": r.get("peak_gpu_memory_bytes"), "step": os.path.basename(f)[:-4]})
    S["inference"] = speed
    diffs = load(f"{fig}/logit_diffs.json", {}).get("max_abs_logit_diff", {})
    eager = {r["engine"].split()[-1]: r["seq_s"] for r in speed if r["engine"].startswith("torch") and r.get("seq_s")}
    p("| engine / mode | seq/s (median) | best | vs torch eager same precision | peak GPU MiB (nvidia-smi) | max logit diff vs kadapter fp32 | notes |")
    p("|---|---|---|---|---|---|---|")
    prec_of = {"cuda-resident": "fp32", "cuda": "fp32", "cuda-resident-tf32": "tf32"}
    for r in speed:
        mode = r["engine"].split()[-1]
        ratio = ""
        if r["engine"].startswith("kadapter") and r.get("seq_s") and eager.get(prec_of.get(mode, "")):
            ratio = f"{r['seq_s'] / eager[prec_of[mode]]:.2f}x"
        key = ("ort_" + mode) if r["engine"].startswith("kadapter") else "torch_logits_" + mode.replace("+", "_")
        d = diffs.get(key)
        note = r.get("error") or (f"compile {r['compile_s']:.0f}s" if r.get("compile_s") else "") or (f"load {r['load_s']:.1f}s" if r.get("load_s") else "")
        m = mem.get(r["step"], {}).get("peak_mib")
        p(f"| {r['engine']} | {r['seq_s'] or 0:.1f} | {r['best'] or 0:.1f} | {ratio} | {m if m is not None else ''} | "
          f"{d if not isinstance(d, float) else f'{d:.1e}'} | {str(note)[:200]} |")
    p("\nfp16/bf16 for kadapter: not available (no half-precision export yet); torch's are autocast.")

    p("\n## (d) training, seconds per update (RoBERTa-large-sized, batch 8x128; updates after the first)\n")
    p("| engine | task | s/update (median) | peak GPU MiB (nvidia-smi) | torch peak allocated MiB | first loss | notes |")
    p("|---|---|---|---|---|---|---|")
    train = []
    for task in ("trex-rc", "tacred"):
        logs = jsonl(f"{fig}/krun_train_{task}.log.jsonl")
        step = f"krun_train_{task}"
        st = next((s for s in steps if s.get("step") == step), {})
        if len(logs) >= 2:
            el = [b["elapsed_s"] - a["elapsed_s"] for a, b in zip(logs, logs[1:])]
            v = statistics.median(el)
            train.append({"engine": "kadapter cuda", "task": task, "s_update": v})
            p(f"| kadapter (krun train --device cuda) | {task} | {v:.3f} | {mem.get(step, {}).get('peak_mib', '')} | | {logs[0]['loss']:.6f} | |")
        else:
            err = ""
            if os.path.exists(f"{fig}/{step}.log"):
                err = open(f"{fig}/{step}.log").read()[-300:].replace("\n", " ").replace("|", "/")
            p(f"| kadapter (krun train --device cuda) | {task} | not available | | | | rc {st.get('rc', st.get('skipped', '?'))} {err} |")
        for m in ("fp32", "tf32"):
            for r in jsonl(f"{fig}/torch_train_{task}_{m}.out"):
                us = r.get("update_seconds", [])
                v = statistics.median(us[1:]) if len(us) > 1 else None
                train.append({"engine": "torch " + m, "task": task, "s_update": v})
                pk = r.get("peak_gpu_memory_bytes")
                p(f"| torch {m} (torch_train.py) | {task} | {v if v is None else f'{v:.3f}'} | {mem.get(f'torch_train_{task}_{m}', {}).get('peak_mib', '')} "
                  f"| {pk / 2**20 if pk else 0:.0f} | {r.get('losses', [None])[0]} | |")
    S["training"] = train

    p("\n## (f) interoperability\n")
    ar = load(f"{fig}/arrow.json", {})
    S["arrow"] = ar
    for f in ar.get("files", []):
        p(f"- {f['file']}: {'ok' if f.get('ok') else 'FAILED'} rows {f.get('rows')} datasets rows {f.get('datasets_rows')} {f.get('error', '')}")
    if not ar:
        p("- Arrow: step did not run or failed (arrow.log)")
    hf = load(f"{fig}/hf.json", {})
    S["hf"] = hf
    p(f"- transformers RobertaModel on the kadapter-tiny RoBERTa: {json.dumps(hf.get('fixture_roberta'))}")
    if hf.get("krun_train_checkpoint"):
        p(f"- transformers loading a krun train checkpoint: {json.dumps(hf['krun_train_checkpoint'])[:600]}")

    p("\n## steps\n")
    for s in steps:
        if "start" in s:
            p(f"- {s['step']}: rc {s['rc']}, {s['end'] - s['start']:.1f} s (limit {s['limit_s']} s), peak GPU {mem.get(s['step'], {}).get('peak_mib', '?')} MiB")
        else:
            p(f"- {s['step']}: skipped ({s.get('skipped')})")
    json.dump(S, open(f"{fig}/summary.json", "w"), indent=1, default=str)


if __name__ == "__main__":
    main()
