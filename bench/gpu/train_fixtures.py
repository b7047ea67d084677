#!/usr/bin/env python3
"""(b) of bench/gpu: `krun train --loop upstream` on the kadapter-tiny training fixtures vs the
original code's float64 run (ref_float64), per device. The command line is what train/traintest
builds from each setup's config.json (the same hyper-parameters, the micro-batches concatenated in
order, no shuffling).

usage: train_fixtures.py KRUN FIXTURES WORKDIR DEVICES     (DEVICES: e.g. cuda,cpu)
Prints one JSON object: per setup and device, the exit status, seconds, learning rates (exact),
max |loss - ref| over micro-batches, max |final param - ref| (attention key biases separately:
their gradient is 0 in exact arithmetic, so float32 Adam moves them by rounding noise), and how
many reference parameters were found in the checkpoint krun wrote.
"""
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

SETUP_TASK = {"pretrain_fac": "trex-rc", "pretrain_lin": "find-head", "tacred": "tacred",
              "openentity": "openentity", "figer": "figer", "cosmosqa": "cosmosqa"}


def concat_batches(setup_dir, arrays, micro, out):
    os.makedirs(out, exist_ok=True)
    for name in arrays:
        parts = [np.load(f"{setup_dir}/batches/step_{k}/{name}.npy") for k in range(micro)]
        np.save(f"{out}/{name}.npy", np.concatenate(parts, axis=0))


def command(krun, fx, setup, cfg, data, out, device):
    hp = cfg["hyperparameters"]
    man = json.load(open(f"{fx}/manifest.json"))["adapter"]
    iw = cfg["initial_weights"]
    task = SETUP_TASK[setup]
    args = [krun, "train", "--task", task, "--roberta", f"{fx}/{os.path.dirname(iw['roberta'])}"]
    if iw.get("task_model"):
        args += ["--task-model", f"{fx}/{iw['task_model']}"]
    elif task == "trex-rc":
        args += ["--fac", f"{fx}/{iw['adapter_model']}"]
    else:
        args += ["--lin", f"{fx}/{iw['adapter_model']}"]
    args += ["--fusion", hp.get("fusion_mode", "concat"), "--adapter-list", ",".join(map(str, man["adapter_list"])),
             "--adapter-heads", str(man["adapter_heads"]), "--adapter-skip-layers", str(hp.get("adapter_skip_layers", 0))]
    if task == "cosmosqa":
        args += ["--a-rate", str(hp["a_rate"]), "--b-rate", str(hp["b_rate"])]
    args += ["--data", data, "--out", out, "--learning-rate", repr(hp["learning_rate"]),
             "--warmup-steps", str(hp["warmup_steps"]), "--weight-decay", repr(hp["weight_decay"]),
             "--adam-epsilon", repr(hp["adam_epsilon"]),
             "--max-grad-norm", repr(hp["max_grad_norm"] if hp["max_grad_norm"] is not None else 0),
             "--batch-size", str(hp["dataloader_batch_size"]), "--gradient-accumulation-steps", str(hp["gradient_accumulation_steps"]),
             "--epochs", "1", "--t-total", str(hp["t_total"]), "--dropout", repr(hp["dropout"]), "--shuffle=false",
             "--seed", str(hp["seed"]), "--loop", "upstream", "--graph-opt", "disable", "--device", device, "--quiet", "--json"]
    return args


def candidates(module, key):
    c = [key]
    if module == "pretrained_model":
        k = key[len("model."):] if key.startswith("model.") else key
        c += ["roberta." + k, k, "model." + k]
    if module == "adapter_model" and key.startswith("adapter."):
        c += ["fac_adapter." + key, "lin_adapter." + key]
    return c


def load_checkpoint(d):
    import torch
    out = {}
    for f in sorted(glob.glob(f"{d}/*.bin")):
        sd = torch.load(f, map_location="cpu")
        if isinstance(sd, dict):
            for k, v in sd.items():
                if hasattr(v, "numpy"):
                    out.setdefault(k, v.double().numpy())
    return out


def compare(setup_dir, out):
    ref = f"{setup_dir}/ref_float64"
    logs = [json.loads(l) for l in open(f"{out}/log.jsonl")]
    r = {"updates": len(logs)}
    lrs = np.load(f"{ref}/lr.npy")
    r["lr_exact"] = len(logs) == len(lrs) and all(u["lr"] == float(w) for u, w in zip(logs, lrs))
    got = [x for u in logs for x in u.get("micro_losses", [])]
    want = np.load(f"{ref}/loss.npy")
    r["loss_max_abs_diff"] = float(np.abs(np.array(got) - want).max()) if len(got) == len(want) else f"{len(got)} losses, want {len(want)}"
    ck = sorted(glob.glob(f"{out}/checkpoint-*"), key=lambda p: int(p.rsplit("-", 1)[1]) if p.rsplit("-", 1)[1].isdigit() else -1)
    if not ck:
        r["params"] = "no checkpoint written"
        return r
    have = load_checkpoint(ck[-1])
    found = missing = 0
    worst = worst_kb = 0.0
    for f in glob.glob(f"{ref}/final/*/*.npy"):
        module = os.path.basename(os.path.dirname(f))
        key = os.path.basename(f)[:-4]
        w = np.load(f)
        g = next((have[c] for c in candidates(module, key) if c in have and have[c].shape == w.shape), None)
        if g is None:
            missing += 1
            continue
        found += 1
        d = float(np.abs(g - w).max())
        if key.endswith("attention.self.key.bias"):
            worst_kb = max(worst_kb, d)
        else:
            worst = max(worst, d)
    r.update(checkpoint=os.path.basename(ck[-1]), params_found=found, params_missing=missing,
             final_param_max_abs_diff=worst, key_bias_max_abs_diff=worst_kb)
    return r


def main():
    krun, fx, work, devices = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
    help_ = subprocess.run([krun, "train", "--help"], capture_output=True, text=True)
    if "-device" not in help_.stdout + help_.stderr:
        print(json.dumps({"available": False, "reason": "this krun has no `train --device`"}))
        return
    res = {"available": True, "runs": []}
    for setup_dir in sorted(glob.glob(f"{fx}/train/*/")):
        setup = os.path.basename(setup_dir.rstrip("/"))
        if setup not in SETUP_TASK:
            continue
        cfg = json.load(open(f"{setup_dir}/config.json"))
        data = f"{work}/data-{setup}"
        concat_batches(setup_dir, cfg["batches"]["arrays"], cfg["hyperparameters"]["micro_batches"], data)
        for dev in devices:
            out = f"{work}/{dev}/{setup}"
            args = command(krun, fx, setup, cfg, data, out, dev)
            t0 = time.time()
            p = subprocess.run(args, capture_output=True, text=True)
            row = {"setup": setup, "device": dev, "rc": p.returncode, "seconds": time.time() - t0}
            if p.returncode != 0:
                row["error"] = (p.stderr or p.stdout)[-2000:]
            else:
                try:
                    row.update(compare(setup_dir, out))
                except Exception as e:  # report, keep going
                    row["error"] = f"comparison failed: {e!r}"
            res["runs"].append(row)
            print(json.dumps(row), file=sys.stderr)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
