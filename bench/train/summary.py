#!/usr/bin/env python3
"""Summary of bench/train/run.sh: reads results.jsonl (one line per run),
prints the table and writes DIR/summary.json; exits 1 when the first
update's losses disagree by more than 1e-4.

usage: summary.py DIR RESULTS OPENBLAS
"""
import json
import statistics
import sys

TOL = 1e-4


def wall_seconds(s):
    parts = [float(x) for x in s.split(":")]
    out = 0.0
    for p in parts:
        out = out * 60 + p
    return out


def fmt(v, w=9, p=3):
    return f"{v:{w}.{p}f}" if v is not None else " " * (w - 1) + "-"


def main():
    d, results, openblas = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = [json.loads(line) for line in open(results)]
    runs = {}
    for r in rows:
        e = runs.setdefault((r["task"], r["threads"]), {})
        x = r["r"]
        if r["engine"] == "kadapter":
            log = [json.loads(line) for line in open(r["log"])]
            el = [u["elapsed_s"] for u in log]
            secs = [el[0]] + [b - a for a, b in zip(el, el[1:])]
            losses = [u["loss"] for u in log]
            norms = [u.get("grad_norms") or {} for u in log]
            train_s = x["result"]["seconds"]
            c = (r.get("cpu") or {}).get("cpu_s_at_update") or []
            cpu = [b - a for a, b in zip(c, c[1:])] if len(c) == len(secs) else []
        else:
            secs, losses, norms = x["update_seconds"], x["losses"], x["grad_norms"]
            cpu = x.get("update_cpu_seconds", [])[1:]
            train_s = sum(secs)
        wall = wall_seconds(r["wall"])
        e[r["engine"]] = {
            "update_seconds": secs, "warmup_update_s": secs[0],
            "median_s_per_update": statistics.median(secs[1:]) if len(secs) > 1 else secs[0],
            "mean_s_per_update": statistics.mean(secs[1:]) if len(secs) > 1 else secs[0],
            "best_s_per_update": min(secs[1:]) if len(secs) > 1 else secs[0],
            "cpu_seconds_timed_updates": cpu,
            "median_cpu_s_per_update": statistics.median(cpu) if cpu else None,
            "losses": losses, "grad_norms_first_update": norms[0],
            "peak_rss_mib": r["rss_kb"] / 1024, "wall_s": wall, "setup_s": wall - train_s,
        }
        if r["engine"] == "kadapter":
            e[r["engine"]]["reported_peak_rss_mib"] = x["peak_rss_bytes"] / 2**20
            e[r["engine"]]["reported_seconds_per_update_incl_warmup"] = x["seconds_per_update"]
        else:
            e[r["engine"]]["engine_version"] = x["engine"]
            e[r["engine"]]["optimizer"] = x["optimizer"]
    summary = {"tolerance_first_loss": TOL, "openblas": openblas, "runs": []}
    bad = []
    print()
    print("s/update: median of the timed updates (the first update, the warm-up, is dropped), wall time and "
          "CPU time (all threads); ratio = PyTorch / kadapter (> 1: kadapter faster)")
    hdr = (f"{'task':8s} {'thr':>3s} | {'kadapter s/upd':>14s} {'PyTorch s/upd':>13s} {'ratio':>6s} | "
           f"{'kad CPU s':>9s} {'torch CPU s':>11s} {'ratio':>6s} | "
           f"{'kad RSS MiB':>11s} {'torch RSS MiB':>13s} {'RSS ratio':>9s} | {'|dloss| 1st':>11s} {'max':>8s} | setup s kad/torch")
    print(hdr)
    print("-" * len(hdr))
    for (task, threads), e in sorted(runs.items(), key=lambda kv: (kv[0][0] != "trex-rc", kv[0][0], kv[0][1])):
        row = {"task": task, "threads": threads, **e}
        k, t = e.get("kadapter"), e.get("torch")
        if k and t:
            row["ratio_speed_median"] = t["median_s_per_update"] / k["median_s_per_update"]
            row["ratio_speed_best"] = t["best_s_per_update"] / k["best_s_per_update"]
            if k["median_cpu_s_per_update"] and t["median_cpu_s_per_update"]:
                row["ratio_cpu_median"] = t["median_cpu_s_per_update"] / k["median_cpu_s_per_update"]
            row["ratio_rss_kadapter_over_torch"] = k["peak_rss_mib"] / t["peak_rss_mib"]
            n = min(len(k["losses"]), len(t["losses"]))
            diffs = [abs(a - b) for a, b in zip(k["losses"][:n], t["losses"][:n])]
            row["loss_abs_diff_first_update"] = diffs[0]
            row["loss_abs_diff_max"] = max(diffs)
            row["grad_norm_rel_diff_first_update"] = {
                g: abs(k["grad_norms_first_update"][g] - v) / max(abs(v), 1e-30)
                for g, v in t["grad_norms_first_update"].items() if g in k["grad_norms_first_update"]}
            if not diffs[0] <= TOL:
                bad.append(f"{task} {threads} thread(s): first-update loss kadapter {k['losses'][0]:.7g} vs PyTorch {t['losses'][0]:.7g}")
            print(f"{task:8s} {threads:3d} | {k['median_s_per_update']:14.3f} {t['median_s_per_update']:13.3f} "
                  f"{row['ratio_speed_median']:5.2f}x | {fmt(k['median_cpu_s_per_update'])} {fmt(t['median_cpu_s_per_update'], 11)} "
                  f"{fmt(row.get('ratio_cpu_median'), 5, 2)}x | {k['peak_rss_mib']:11.0f} {t['peak_rss_mib']:13.0f} "
                  f"{row['ratio_rss_kadapter_over_torch']:8.2f}x | {diffs[0]:11.2e} {max(diffs):8.1e} | "
                  f"{k['setup_s']:.1f}/{t['setup_s']:.1f}")
        summary["runs"].append(row)
    print()
    for row in summary["runs"]:
        k, t = row.get("kadapter"), row.get("torch")
        if k and t:
            print(f"{row['task']} {row['threads']} thread(s): first loss kadapter {k['losses'][0]:.7f} PyTorch {t['losses'][0]:.7f}; "
                  f"grad-norm rel diff {', '.join(f'{g} {v:.1e}' for g, v in row['grad_norm_rel_diff_first_update'].items())}; "
                  f"updates kadapter {', '.join(f'{s:.2f}' for s in k['update_seconds'])} s, "
                  f"PyTorch {', '.join(f'{s:.2f}' for s in t['update_seconds'])} s")
    json.dump(summary, open(f"{d}/summary.json", "w"), indent=2)
    print(f"wrote {d}/summary.json")
    if bad:
        sys.exit("the engines disagree (not the same work): " + "; ".join(bad))


if __name__ == "__main__":
    main()
