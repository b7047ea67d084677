#!/usr/bin/env python3
"""Where an ONNX Runtime profile (train-bench profile) spends the time: kernel
time by op type, by part of the model (forward/backward of roberta, the
adapters, the head; gradient accumulation; AdamW) and the top nodes. Each
node's time is its minimum over the runs after the first (the warm-up), which
filters out the stalls a loaded machine adds to single kernels.

usage: profile_summary.py PROFILE.json [TOP]
"""
import collections
import json
import sys


def scope_of(name):
    """forward/backward + module of a node name such as
    /grad/roberta.encoder.layer.5.attention.self.query/MatMul_187_kernel_time."""
    parts = name.lstrip("/").split("/")
    back = parts[0] == "grad"
    if back:
        parts = parts[1:]
    head = parts[0] if len(parts) > 1 else ""
    mod = head.split(".")[0]
    if mod in ("accumulate", "adamw", "clip"):
        return mod
    if mod == "" or not head:
        return ("backward" if back else "forward") + " (fused, unnamed)"
    if mod not in ("roberta", "fac_adapter", "lin_adapter", "loss"):
        mod = "head/fusion"
    return ("backward " if back else "forward ") + mod


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    ev = json.load(open(path))
    runs = [e for e in ev if e.get("name") == "model_run"]
    if not runs:
        sys.exit(f"{path}: no model_run event")
    timed = runs[1:] or runs
    best = {}
    for r in timed:
        lo, hi = r["ts"], r["ts"] + r["dur"]
        for e in ev:
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time") and lo <= e["ts"] <= hi:
                if e["name"] not in best or e["dur"] < best[e["name"]]["dur"]:
                    best[e["name"]] = e
    nodes = list(best.values())
    total = sum(e["dur"] for e in nodes)
    run_ms = ", ".join("%.0f" % (r["dur"] / 1e3) for r in runs)
    print(f"{path}: runs {run_ms} ms; per-node minimum over {len(timed)} run(s): "
          f"kernels {total / 1e3:.1f} ms, {len(nodes)} nodes")
    by_op = collections.Counter()
    count = collections.Counter()
    by_scope = collections.Counter()
    for e in nodes:
        op = e.get("args", {}).get("op_name", "?")
        by_op[op] += e["dur"]
        count[op] += 1
        by_scope[scope_of(e["name"])] += e["dur"]
    print("by op type:")
    for op, d in by_op.most_common(top):
        print(f"  {op:28s} {d / 1e3:9.1f} ms {100 * d / total:5.1f}%  ({count[op]} nodes)")
    print("by scope (first part of the node name):")
    for s, d in by_scope.most_common(top):
        print(f"  {s:40s} {d / 1e3:9.1f} ms {100 * d / total:5.1f}%")
    print("top nodes:")
    for e in sorted(nodes, key=lambda e: -e["dur"])[:top]:
        a = e.get("args", {})
        shapes = [list(x.values())[0] for x in a.get("input_type_shape", [])]
        print(f"  {e['dur'] / 1e3:8.1f} ms {a.get('op_name', '?'):16s} {e['name'][:90]} {shapes}")


if __name__ == "__main__":
    main()
