#!/usr/bin/env python3
"""Run bench/krun/torch_ref.py (inference) or bench/train/torch_train.py (training) on a CUDA
GPU, unchanged, so that the GPU figures time exactly the PyTorch code the CPU benchmarks time.

usage: torch_cuda.py MODE SCRIPT ARGS...
MODE: fp32 (TF32 off), tf32, fp16 / bf16 (torch.autocast: matmuls in half precision, softmax and
LayerNorm in float32, PyTorch's usual half-precision inference), each optionally +compile
(torch.compile of the script's forward function; inference only).

How: torch.load maps to cuda, torch.from_numpy copies to cuda, new tensors default to cuda,
Tensor.numpy copies back, and time.perf_counter synchronizes the GPU first, so the script's own
timers measure finished work. The script's JSON line is printed with "cuda_mode",
"peak_gpu_memory_bytes" (torch.cuda.max_memory_allocated) and "compile_seconds" added.
"""
import io
import json
import os
import runpy
import sys
import time
import contextlib


def main():
    mode, script, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    import torch
    # KGPU_TORCH_DEVICE=cpu exercises the wrapper without a GPU (tests only).
    dev = os.environ.get("KGPU_TORCH_DEVICE", "cuda")
    if dev == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_cuda.py: no CUDA device")
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    compile_ = mode.endswith("+compile")
    prec = mode.removesuffix("+compile")
    torch.backends.cuda.matmul.allow_tf32 = prec == "tf32"
    torch.backends.cudnn.allow_tf32 = prec == "tf32"
    if dev == "cuda":
        torch.set_default_device("cuda")
    orig_load, orig_from_numpy, orig_numpy = torch.load, torch.from_numpy, torch.Tensor.numpy
    torch.load = lambda *a, **k: orig_load(*a, **{**k, "map_location": dev})
    torch.from_numpy = lambda x: orig_from_numpy(x).to(dev)
    torch.Tensor.numpy = lambda self, *a, **k: orig_numpy(self.detach().float().cpu() if self.is_floating_point() else self.detach().cpu(), *a, **k)
    pc = time.perf_counter
    time.perf_counter = lambda: (sync(), pc())[1]
    ctx = contextlib.nullcontext()
    if prec in ("fp16", "bf16"):
        ctx = torch.autocast(dev, dtype=torch.float16 if prec == "fp16" else torch.bfloat16)
    src = open(script).read()
    compile_s = None
    if compile_:
        marker = "    with torch.inference_mode():\n"
        if marker not in src:
            sys.exit(f"torch_cuda.py: cannot find the forward loop in {script} to compile")
        # Compile the forward function; its first call (the script's warm-up) pays the compile.
        src = src.replace(marker, "    forward = torch.compile(forward)\n" + marker, 1)
    out = io.StringIO()
    sys.argv = [script] + args
    t0 = pc()
    with ctx, contextlib.redirect_stdout(out):
        g = {"__name__": "__main__", "__file__": script}
        exec(compile(src, script, "exec"), g)
    total = pc() - t0
    lines = [l for l in out.getvalue().splitlines() if l.startswith("{")]
    if not lines:
        sys.exit("torch_cuda.py: the script printed no JSON line:\n" + out.getvalue())
    r = json.loads(lines[-1])
    r.update(cuda_mode=mode, torch=torch.__version__, script_seconds=total)
    if dev == "cuda":
        r.update(device=torch.cuda.get_device_name(0), peak_gpu_memory_bytes=torch.cuda.max_memory_allocated())
    if compile_ and "pass_seconds" in r:
        # Warm-up (compile + first batch) is what the script ran before its passes.
        r["compile_seconds"] = total - sum(r["pass_seconds"])
    print(json.dumps(r))


if __name__ == "__main__":
    main()
