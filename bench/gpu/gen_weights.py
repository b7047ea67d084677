#!/usr/bin/env python3
"""Random RoBERTa-large-sized K-Adapter weights for bench/gpu, generated on the GPU machine
(so they need not travel): the layout and key names of bench/krun's Go generator
(bench/krun/main.go gen), at RoBERTa-large size by default.

usage: gen_weights.py DIR [--layers 24 --hidden 1024 --heads 16 --vocab 50265 --adapter 768
                           --batches 8 --batch 32 --seq 128 --seed 20240601]
Writes DIR/roberta/{config.json,pytorch_model.bin}, DIR/tacred/pytorch_model.bin (fac+lin
chains of 3 adapters, width 768, 2 layers, intermediate 3072; concat fusion; TACRED head),
DIR/inputs/{input_ids,attention_mask,subj_pos,obj_pos}.npy of shape [batches, batch(, seq)].
"""
import argparse
import json
import os

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=50265)
    ap.add_argument("--adapter", type=int, default=768)
    ap.add_argument("--adapter-layers", type=int, default=2)
    ap.add_argument("--adapter-inter", type=int, default=3072)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--train", action="store_true",
                    help="also what bench/train's prep writes: dropout probabilities in config.json, "
                         "fac/pytorch_model.bin (the fac adapters + com_dense, dense, out_proj[410]) and "
                         "data-tacred/, data-trex-rc/ (the inputs, examples on axis 0, random labels)")
    a = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator(device=dev).manual_seed(a.seed)
    h, inter = a.hidden, 4 * a.hidden
    sd = {}

    def add(name, *shape):
        sd[name] = (torch.randn(*shape, generator=g, device=dev) * 0.02).cpu()

    def ln(p, n):
        sd[p + ".weight"] = torch.ones(n)
        add(p + ".bias", n)

    def lin(p, i, o):
        add(p + ".weight", o, i)
        add(p + ".bias", o)

    def layer(p, n, m):
        for k in ("query", "key", "value"):
            lin(f"{p}.attention.self.{k}", n, n)
        lin(p + ".attention.output.dense", n, n)
        ln(p + ".attention.output.LayerNorm", n)
        lin(p + ".intermediate.dense", n, m)
        lin(p + ".output.dense", m, n)
        ln(p + ".output.LayerNorm", n)

    add("roberta.embeddings.word_embeddings.weight", a.vocab, h)
    add("roberta.embeddings.position_embeddings.weight", 514, h)
    add("roberta.embeddings.token_type_embeddings.weight", 1, h)
    ln("roberta.embeddings.LayerNorm", h)
    for i in range(a.layers):
        layer(f"roberta.encoder.layer.{i}", h, inter)
    lin("roberta.pooler.dense", h, h)
    os.makedirs(f"{a.dir}/roberta", exist_ok=True)
    torch.save(sd, f"{a.dir}/roberta/pytorch_model.bin")
    cfg = {"hidden_size": h, "num_hidden_layers": a.layers, "num_attention_heads": a.heads,
           "intermediate_size": inter, "layer_norm_eps": 1e-5, "vocab_size": a.vocab,
           "max_position_embeddings": 514, "type_vocab_size": 1, "hidden_act": "gelu"}
    if a.train:
        cfg.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    json.dump(cfg, open(f"{a.dir}/roberta/config.json", "w"), indent=2)
    n_roberta = sum(v.numel() for v in sd.values())

    sd = {}
    for kind in ("fac", "lin"):
        for k in range(3):
            p = f"{kind}_adapter.adapter.{k}"
            lin(p + ".down_project", h, a.adapter)
            for j in range(a.adapter_layers):
                layer(f"{p}.encoder.layer.{j}", a.adapter, a.adapter_inter)
            lin(p + ".up_project", a.adapter, h)
    for name in ("task_dense_fac", "task_dense_lin", "task_dense", "dense"):
        lin(name, 2 * h, h)
    lin("out_proj", h, 42)
    os.makedirs(f"{a.dir}/tacred", exist_ok=True)
    torch.save(sd, f"{a.dir}/tacred/pytorch_model.bin")
    n_task = sum(v.numel() for v in sd.values())

    rng = np.random.default_rng(a.seed)
    nb, bs, L = a.batches, a.batch, a.seq
    ids = np.ones((nb * bs, L), np.int64)
    mask = np.zeros((nb * bs, L), np.int64)
    subj = np.zeros(nb * bs, np.int64)
    obj = np.zeros(nb * bs, np.int64)
    for r in range(nb * bs):
        n = L // 2 + int(rng.integers(0, L // 2 + 1))
        ids[r, 0] = 0
        ids[r, 1:n - 1] = rng.integers(4, a.vocab, n - 2)
        ids[r, n - 1] = 2
        mask[r, :n] = 1
        subj[r] = 1 + int(rng.integers(0, n - 2))
        obj[r] = 1 + int(rng.integers(0, n - 2))
    os.makedirs(f"{a.dir}/inputs", exist_ok=True)
    np.save(f"{a.dir}/inputs/input_ids.npy", ids.reshape(nb, bs, L))
    np.save(f"{a.dir}/inputs/attention_mask.npy", mask.reshape(nb, bs, L))
    np.save(f"{a.dir}/inputs/subj_pos.npy", subj.reshape(nb, bs))
    np.save(f"{a.dir}/inputs/obj_pos.npy", obj.reshape(nb, bs))
    if a.train:
        fac = {k[len("fac_adapter."):]: v for k, v in sd.items() if k.startswith("fac_adapter.")}
        for name, i, o in (("com_dense", 2 * h, h), ("dense", 2 * h, h), ("out_proj", h, 410)):
            fac[name + ".weight"] = (torch.randn(o, i, generator=g, device=dev) * 0.02).cpu()
            fac[name + ".bias"] = (torch.randn(o, generator=g, device=dev) * 0.02).cpu()
        os.makedirs(f"{a.dir}/fac", exist_ok=True)
        torch.save(fac, f"{a.dir}/fac/pytorch_model.bin")
        for task, classes in (("tacred", 42), ("trex-rc", 410)):
            d = f"{a.dir}/data-{task}"
            os.makedirs(d, exist_ok=True)
            for name, arr in (("input_ids", ids), ("attention_mask", mask), ("subj_pos", subj), ("obj_pos", obj)):
                np.save(f"{d}/{name}.npy", arr)
            np.save(f"{d}/labels.npy", rng.integers(0, classes, nb * bs).astype(np.int64))
    print(json.dumps({"dir": a.dir, "roberta_params": n_roberta, "task_params": n_task, "layers": a.layers,
                      "hidden": h, "adapter": a.adapter, "batches": nb, "batch": bs, "seq": L}))


if __name__ == "__main__":
    main()
