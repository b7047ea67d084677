#!/usr/bin/env python3
"""PyTorch side of bench/train: the training update that `krun train` runs,
written with torch.nn.functional on the same checkpoint files (the model
maths of bench/krun/torch_ref.py, extended with the losses and the trex-rc
head), timed on the same batches.

usage: torch_train.py DIR TASK THREADS UPDATES ADAPTER_LIST ADAPTER_HEADS LR WARMUP T_TOTAL MAX_GRAD_NORM

TASK trex-rc: fac-adapter.py's update: RoBERTa frozen and run under
torch.no_grad() (eval, no stored activations), the adapter model
(adapter.* + com_dense + dense + out_proj, from DIR/fac/pytorch_model.bin)
trains; one clip group. TASK tacred: the fine-tuning script's update:
RoBERTa (DIR/roberta), the fusion (task_dense*) and the head (dense,
out_proj) train, the fac/lin adapters (DIR/tacred/pytorch_model.bin) are
frozen but backpropagated through; clip groups roberta and task, as the
script clips them. Dropout 0 everywhere (as krun train --dropout 0).

One update = zero the gradients, forward on batch k (8 consecutive rows of
DIR/data-TASK, no shuffling), cross-entropy (mean), loss.backward(),
clip_grad_norm_ per group, AdamW at the WarmupLinearSchedule lr. The
optimizer is pytorch_transformers 1.2.0's AdamW, which the original scripts
use and krun train reproduces (bias correction folded into the step size,
sqrt(v) + eps); BENCH_TORCH_OPTIM=torch uses torch.optim.AdamW instead
(eps placed differently: later losses then differ slightly).

Prints one JSON line: seconds (wall and CPU) and loss of every update (the first is the
warm-up), the clip groups' norms of the first update, peak RSS.
"""
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    d, task, threads, updates = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    taps = [int(x) for x in sys.argv[5].split(",")]
    aheads = int(sys.argv[6])
    lr, warmup, t_total, max_norm = float(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]), float(sys.argv[10])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    cfg = json.load(open(f"{d}/roberta/config.json"))
    eps = cfg["layer_norm_eps"]
    sd = torch.load(f"{d}/roberta/pytorch_model.bin", map_location="cpu")
    if task == "trex-rc":
        sd.update({"fac_adapter." + k if k.startswith("adapter.") else k: v
                   for k, v in torch.load(f"{d}/fac/pytorch_model.bin", map_location="cpu").items()})
        groups = {"adapter_model": [k for k in sd if not k.startswith("roberta.")]}
        kinds = ["fac"]
    elif task == "tacred":
        sd.update(torch.load(f"{d}/tacred/pytorch_model.bin", map_location="cpu"))
        # RoBERTa's pooler trains too but the loss never reaches it (grad None).
        groups = {"roberta": [k for k in sd if k.startswith("roberta.") and not k.startswith("roberta.pooler.")],
                  "task": [k for k in sd if k.startswith("task_dense") or k.split(".")[0] in ("dense", "out_proj")]}
        kinds = ["fac", "lin"]
    else:
        sys.exit(f"unknown task {task}")
    for ks in groups.values():
        for k in ks:
            sd[k].requires_grad_(True)

    def lin(x, p):
        return F.linear(x, sd[p + ".weight"], sd[p + ".bias"])

    def ln(x, p, e):
        return F.layer_norm(x, x.shape[-1:], sd[p + ".weight"], sd[p + ".bias"], e)

    def gelu(x):
        return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))

    def attention(x, p, heads, mask, e):
        b, l, h = x.shape
        hd = h // heads

        def split(t):
            return t.view(b, l, heads, hd).permute(0, 2, 1, 3)

        q, k, v = (split(lin(x, f"{p}.self.{n}")) for n in ("query", "key", "value"))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        if mask is not None:
            s = s + mask
        ctx = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(b, l, h)
        return ln(lin(ctx, f"{p}.output.dense") + x, f"{p}.output.LayerNorm", e)

    def layer(x, p, heads, mask, e):
        a = attention(x, p + ".attention", heads, mask, e)
        return ln(lin(gelu(lin(a, p + ".intermediate.dense")), p + ".output.dense") + a, p + ".output.LayerNorm", e)

    n_layers = cfg["num_hidden_layers"]
    a_layers = sum(1 for k in sd if k.startswith("fac_adapter.adapter.0.encoder.layer.") and k.endswith("attention.self.query.weight"))

    def roberta(ids, mask):
        b, l = ids.shape
        pos = torch.arange(2, l + 2).unsqueeze(0).expand(b, l)
        x = (F.embedding(ids, sd["roberta.embeddings.word_embeddings.weight"])
             + F.embedding(pos, sd["roberta.embeddings.position_embeddings.weight"])
             + sd["roberta.embeddings.token_type_embeddings.weight"][0])
        x = ln(x, "roberta.embeddings.LayerNorm", eps)
        ext = ((1.0 - mask.float()) * -10000.0)[:, None, None, :]
        hs = [x]
        for i in range(n_layers):
            x = layer(x, f"roberta.encoder.layer.{i}", cfg["num_attention_heads"], ext, eps)
            hs.append(x)
        return hs

    def chain(hs, kind):
        last = torch.zeros_like(hs[-1])
        for k, t in enumerate(taps):
            p = f"{kind}_adapter.adapter.{k}"
            y = lin(hs[t] + last, p + ".down_project")
            for j in range(a_layers):
                y = layer(y, f"{p}.encoder.layer.{j}", aheads, None, 1e-5)  # adapters: no padding mask
            last = hs[t] + last + lin(y, p + ".up_project")
        return last

    def logits_of(ids, mask, subj, obj):
        r = torch.arange(ids.shape[0])
        if task == "trex-rc":
            with torch.no_grad():  # RoBERTa frozen, eval: plain inference
                hs = roberta(ids, mask)
            s = hs[-1]
            com = lin(torch.cat([s, chain(hs, "fac")], -1), "com_dense")
            return lin(lin(torch.cat([com[r, subj], com[r, obj]], -1), "dense"), "out_proj")
        hs = roberta(ids, mask)
        s = hs[-1]
        outs = {kind: chain(hs, kind) for kind in kinds}
        f = lin(torch.cat([s, outs["fac"]], -1), "task_dense_fac")
        g = lin(torch.cat([s, outs["lin"]], -1), "task_dense_lin")
        t = lin(torch.cat([f, g], -1), "task_dense")
        return lin(lin(torch.cat([t[r, subj], t[r, obj]], -1), "dense"), "out_proj")

    data = {n: torch.from_numpy(np.load(f"{d}/data-{task}/{n}.npy"))
            for n in ("input_ids", "attention_mask", "subj_pos", "obj_pos", "labels")}
    bs = int(os.environ.get("BENCH_BATCH", "8"))
    if data["labels"].shape[0] < updates * bs:
        sys.exit(f"{d}/data-{task} has {data['labels'].shape[0]} rows, {updates} updates need {updates * bs}")

    params = {g: [sd[k] for k in ks] for g, ks in groups.items()}
    all_params = [p for ps in params.values() for p in ps]
    use_torch_optim = os.environ.get("BENCH_TORCH_OPTIM", "ptt") == "torch"
    b1, b2, adam_eps = 0.9, 0.999, 1e-8
    if use_torch_optim:
        opt = torch.optim.AdamW(all_params, lr=lr, betas=(b1, b2), eps=adam_eps, weight_decay=0.0)
    state = {}

    def ptt_adamw(cur_lr, t):
        # pytorch_transformers 1.2.0 AdamW.step (weight decay 0).
        step_size = cur_lr * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
        for p in all_params:
            if p.grad is None:
                continue
            g = p.grad
            if p not in state:
                state[p] = (torch.zeros_like(p), torch.zeros_like(p))
            m, v = state[p]
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            p.data.addcdiv_(m, v.sqrt().add_(adam_eps), value=-step_size)

    def factor(step):  # WarmupLinearSchedule
        if step < warmup:
            return step / max(1.0, warmup)
        return max(0.0, (t_total - step) / max(1.0, t_total - warmup))

    seconds, cpu, losses, norms = [], [], [], []
    for k in range(updates):
        sl = slice(k * bs, (k + 1) * bs)
        t0, c0 = time.perf_counter(), time.process_time()
        for p in all_params:
            p.grad = None
        logits = logits_of(data["input_ids"][sl], data["attention_mask"][sl], data["subj_pos"][sl], data["obj_pos"][sl])
        loss = F.cross_entropy(logits, data["labels"][sl])
        loss.backward()
        nk = {}
        if max_norm > 0:
            for g, ps in params.items():
                nk[g] = float(torch.nn.utils.clip_grad_norm_(ps, max_norm))
        cur_lr = lr * factor(k + 1)  # standard loop: scheduler step k+1 for update k+1
        if use_torch_optim:
            for grp in opt.param_groups:
                grp["lr"] = cur_lr
            opt.step()
        else:
            ptt_adamw(cur_lr, k + 1)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # all threads of the process
        losses.append(float(loss))
        norms.append(nk)
    print(json.dumps({"engine": "torch " + torch.__version__, "task": task, "threads": threads, "batch": bs,
                      "seq": int(data["input_ids"].shape[1]), "updates": updates,
                      "optimizer": "torch.optim.AdamW" if use_torch_optim else "pytorch_transformers AdamW",
                      "update_seconds": seconds, "update_cpu_seconds": cpu, "losses": losses, "grad_norms": norms,
                      "trained_params": sum(p.numel() for p in all_params),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
