#!/usr/bin/env python3
"""(f) of bench/gpu: read back every Arrow file kprep wrote (prepare.sh: kprep trex train/dev,
kprep features of every task) with pyarrow's IPC stream reader, parse the "huggingface" schema
metadata, and load the file with datasets.Dataset.from_file when datasets is installed.

usage: arrow_check.py DIR        Prints one JSON object; exit 1 when a file does not read.
"""
import glob
import json
import os
import sys


def main():
    d = sys.argv[1]
    import pyarrow as pa
    import pyarrow.ipc as ipc
    try:
        import datasets
    except Exception:  # optional
        datasets = None
    out = {"pyarrow": pa.__version__, "datasets": getattr(datasets, "__version__", None), "files": []}
    bad = 0
    for f in sorted(glob.glob(f"{d}/**/*.arrow", recursive=True)):
        r = {"file": os.path.relpath(f, d)}
        try:
            with pa.memory_map(f) as src:
                t = ipc.open_stream(src).read_all()
            r.update(rows=t.num_rows, columns=t.schema.names, types={n: str(t.schema.field(n).type) for n in t.schema.names})
            meta = (t.schema.metadata or {}).get(b"huggingface")
            r["huggingface_metadata"] = bool(meta) and "features" in json.loads(meta).get("info", {})
            # kprep's own count, from its --json summary, when it names one.
            summary = f.rsplit(".", 1)[0] + ".json"
            if os.path.exists(summary):
                r["kprep_summary"] = {k: v for k, v in json.load(open(summary)).items() if isinstance(v, (int, float))}
            if datasets is not None:
                ds = datasets.Dataset.from_file(f)
                r["datasets_rows"] = ds.num_rows
                r["datasets_features"] = sorted(ds.features.keys())
            r["ok"] = t.num_rows > 0 and r["huggingface_metadata"] and (datasets is None or r["datasets_rows"] == t.num_rows)
        except Exception as e:
            r.update(ok=False, error=repr(e))
        bad += not r["ok"]
        out["files"].append(r)
    out["ok"] = bad == 0 and len(out["files"]) > 0
    print(json.dumps(out, indent=2))
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
