#!/usr/bin/env python3
"""(f) of bench/gpu: Hugging Face transformers against our graphs.

usage: hf_check.py FIXTURES OUTS [CHECKPOINT_DIR]
1. RobertaModel.from_pretrained(FIXTURES/roberta) (the kadapter-tiny RoBERTa, float64) on the
   pretrain_fac inputs: every hidden state at the attended positions vs the original code's
   ref_float64 and vs our graph's output saved by `krun devbench parity --save-outputs OUTS`
   (pretrain_fac/roberta_hidden_states.npy). Padded positions are left out: transformers gives
   pads position id 1, the original (and kadapter) arange(2, L+2).
2. CHECKPOINT_DIR (a checkpoint `krun train` wrote, e.g. the tacred fixture's): the RoBERTa state
   dict in it loaded into transformers' RobertaModel (config.json of the folder), missing and
   unexpected keys reported, and the loaded weights compared with the fixture's
   ref_float64/final/pretrained_model (what the original training produced).
Prints one JSON object.
"""
import glob
import json
import os
import sys

import numpy as np
import torch


def hidden_states(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), output_hidden_states=True)
    return np.stack([h.double().numpy() for h in out.hidden_states])  # [layers+1, B, L, H]


def masked_max(a, b, mask):
    """max |a - b| over attended positions; a, b [layers+1, B, L, H] (b may be [B, layers+1, L, H])."""
    if a.shape != b.shape and b.ndim == 4 and b.shape[1] == a.shape[0]:
        b = b.transpose(1, 0, 2, 3)
    if a.shape != b.shape:
        return f"shapes {a.shape} vs {b.shape}"
    m = mask.astype(bool)[None, :, :, None]
    return float(np.abs(np.where(m, a - b, 0)).max())


def main():
    fx, outs = sys.argv[1], sys.argv[2]
    ckpt = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    import transformers
    from transformers import RobertaConfig, RobertaModel
    res = {"transformers": transformers.__version__}
    ids = np.load(f"{fx}/pretrain_fac/inputs/input_ids.npy").astype(np.int64)
    mask = np.load(f"{fx}/pretrain_fac/inputs/attention_mask.npy").astype(np.int64)
    try:
        m = RobertaModel.from_pretrained(f"{fx}/roberta", add_pooling_layer=True).double().eval()
        hs = hidden_states(m, ids, mask)
        r = {"loaded": True, "hidden_states_shape": list(hs.shape)}
        ref = f"{fx}/pretrain_fac/ref_float64/roberta_hidden_states.npy"
        if os.path.exists(ref):
            r["vs_original_float64"] = masked_max(hs, np.load(ref).astype(np.float64), mask)
        ours = f"{outs}/pretrain_fac/roberta_hidden_states.npy"
        if os.path.exists(ours):
            r["vs_kadapter_graph"] = masked_max(hs, np.load(ours).astype(np.float64), mask)
        res["fixture_roberta"] = r
    except Exception as e:
        res["fixture_roberta"] = {"loaded": False, "error": repr(e)}
    if ckpt:
        r = {"dir": ckpt, "files": sorted(os.listdir(ckpt))}
        try:
            cfg = RobertaConfig.from_pretrained(ckpt)
            sd = {}
            for f in sorted(glob.glob(f"{ckpt}/*.bin")):
                for k, v in torch.load(f, map_location="cpu").items():
                    for p in ("roberta.", "model."):
                        if k.startswith(p):
                            k = k[len(p):]
                            break
                    if k.startswith(("embeddings.", "encoder.", "pooler.")):
                        sd[k] = v
            model = RobertaModel(cfg, add_pooling_layer=True)
            missing, unexpected = model.load_state_dict(sd, strict=False)
            r.update(roberta_tensors=len(sd), missing=[k for k in missing if "position_ids" not in k], unexpected=list(unexpected))
            worst = 0.0
            n = 0
            msd = model.state_dict()
            for f in glob.glob(f"{fx}/train/tacred/ref_float64/final/pretrained_model/*.npy"):
                k = os.path.basename(f)[:-4]
                k = k[len("model."):] if k.startswith("model.") else k
                if k in msd and not k.endswith("attention.self.key.bias"):
                    worst = max(worst, float(np.abs(msd[k].double().numpy() - np.load(f)).max()))
                    n += 1
            r.update(compared_with_original_training=n, max_abs_diff=worst)
            hs = hidden_states(model.double().eval(), ids, mask)
            r["hidden_states_finite"] = bool(np.isfinite(hs).all())
            r["ok"] = not r["missing"] and n > 0
        except Exception as e:
            r.update(ok=False, error=repr(e))
        res["krun_train_checkpoint"] = r
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
