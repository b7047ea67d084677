#!/usr/bin/env python3
"""PyTorch side of bench/krun: the K-Adapter TACRED model (RoBERTa + fac/lin
adapter chains + concat fusion + TACRED head, spec sections 1-4) written with
torch.nn.functional on the same state dicts, timed on the same batches:
one warm-up batch, then BENCH_REPEATS (3) passes; median and best pass.

usage: torch_ref.py DIR ADAPTER_LIST ADAPTER_HEADS THREADS
Prints one JSON line; writes DIR/torch_logits.npy.
"""
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    d, taps, aheads, threads = sys.argv[1], [int(x) for x in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    cfg = json.load(open(f"{d}/roberta/config.json"))
    sd = torch.load(f"{d}/roberta/pytorch_model.bin", map_location="cpu")
    sd.update(torch.load(f"{d}/tacred/pytorch_model.bin", map_location="cpu"))
    eps = cfg["layer_norm_eps"]

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

    def forward(ids, mask, subj, obj):
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
        s = x
        outs = {}
        for kind in ("fac", "lin"):
            last = torch.zeros_like(s)
            for k, t in enumerate(taps):
                p = f"{kind}_adapter.adapter.{k}"
                y = lin(hs[t] + last, p + ".down_project")
                for j in range(a_layers):
                    y = layer(y, f"{p}.encoder.layer.{j}", aheads, None, 1e-5)
                last = hs[t] + last + lin(y, p + ".up_project")
            outs[kind] = last
        f = lin(torch.cat([s, outs["fac"]], -1), "task_dense_fac")
        g = lin(torch.cat([s, outs["lin"]], -1), "task_dense_lin")
        t = lin(torch.cat([f, g], -1), "task_dense")
        r = torch.arange(b)
        rep = torch.cat([t[r, subj], t[r, obj]], -1)
        return lin(lin(rep, "dense"), "out_proj")

    ids = torch.from_numpy(np.load(f"{d}/inputs/input_ids.npy"))
    mask = torch.from_numpy(np.load(f"{d}/inputs/attention_mask.npy"))
    subj = torch.from_numpy(np.load(f"{d}/inputs/subj_pos.npy"))
    obj = torch.from_numpy(np.load(f"{d}/inputs/obj_pos.npy"))
    nb = ids.shape[0]
    repeats = max(int(os.environ.get("BENCH_REPEATS", "3")), 1)
    passes = []
    with torch.inference_mode():
        forward(ids[0], mask[0], subj[0], obj[0])  # warm-up, as on the ORT side
        for _ in range(repeats):
            out = []
            t0 = time.perf_counter()
            for i in range(nb):
                out.append(forward(ids[i], mask[i], subj[i], obj[i]))
            passes.append(time.perf_counter() - t0)
    logits = torch.cat(out).numpy()
    np.save(f"{d}/torch_logits.npy", logits)
    el = statistics.median(passes)
    seqs = nb * ids.shape[1]
    print(json.dumps({"engine": "torch " + torch.__version__, "threads": threads, "batches": nb,
                      "batch": int(ids.shape[1]), "seq": int(ids.shape[2]), "repeats": repeats,
                      "pass_seconds": passes, "seconds": el, "sequences_per_second": seqs / el,
                      "best_sequences_per_second": seqs / min(passes)}))


if __name__ == "__main__":
    main()
