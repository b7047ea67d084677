// Command train-bench prepares the training benchmark of bench/train/run.sh
// from the files bench/krun's generator (krun-bench gen) writes:
//
//	go run ./bench/train prep DIR
//	go run ./bench/train profile GRAPH DATA OUT   (see profile.go)
//
// It reads DIR/roberta/config.json, DIR/tacred/pytorch_model.bin and
// DIR/inputs/*.npy ([batches,batch,seq]) and writes
//
//   - DIR/roberta/config.json with the dropout probabilities krun train
//     reads (hidden_dropout_prob, attention_probs_dropout_prob 0.1) added;
//   - DIR/fac/pytorch_model.bin: a fac-adapter pre-training file as
//     fac-adapter.py saves it (adapter.* = the TACRED model's fac adapters,
//     plus com_dense [768,1536], dense [768,1536] and out_proj [410,768],
//     random with a fixed seed), torch zip format;
//   - DIR/data-tacred/ and DIR/data-trex-rc/: the inputs as [N,seq] and [N]
//     arrays (input_ids, attention_mask, subj_pos, obj_pos) plus labels.npy
//     (int64, random classes of 42 and 410 relations, fixed seed).
package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/internal/npy"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "prep":
		err = prep(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "profile":
		err = profile(os.Args[2], os.Args[3], os.Args[4])
	default:
		fmt.Fprintln(os.Stderr, "usage: train-bench prep DIR | train-bench profile GRAPH DATA OUT")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "train-bench:", err)
		os.Exit(1)
	}
}

func prep(dir string) error {
	rng := rand.New(rand.NewPCG(20261202, 7))
	if err := patchConfig(filepath.Join(dir, "roberta", "config.json")); err != nil {
		return err
	}
	hidden, err := writeFac(dir, rng)
	if err != nil {
		return err
	}
	n, err := writeData(dir, rng)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: fac/pytorch_model.bin (hidden %d, 410 relations), data-tacred/ and data-trex-rc/ (%d examples)\n", dir, hidden, n)
	return nil
}

// patchConfig adds the dropout probabilities of a RoBERTa config.json
// (bench/krun's generator writes none).
func patchConfig(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cfg := map[string]any{}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range []string{"hidden_dropout_prob", "attention_probs_dropout_prob"} {
		if _, ok := cfg[k]; !ok {
			cfg[k] = 0.1
		}
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}

// writeFac writes DIR/fac/pytorch_model.bin and returns the hidden size.
func writeFac(dir string, rng *rand.Rand) (int, error) {
	ts, err := checkpoint.Load(filepath.Join(dir, "tacred", "pytorch_model.bin"))
	if err != nil {
		return 0, err
	}
	const prefix = "fac_adapter."
	var keys []string
	for k := range ts {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return 0, fmt.Errorf("%s/tacred/pytorch_model.bin has no fac_adapter.* keys", dir)
	}
	sort.Strings(keys)
	var out []*checkpoint.Tensor
	for _, k := range keys {
		t := ts[k]
		out = append(out, &checkpoint.Tensor{Name: strings.TrimPrefix(k, prefix), Shape: t.Shape, Data: t.Data, DType: checkpoint.Float32})
	}
	up := ts[prefix+"adapter.0.up_project.weight"]
	if up == nil || len(up.Shape) != 2 {
		return 0, fmt.Errorf("no fac_adapter.adapter.0.up_project.weight [H,A]")
	}
	h := up.Shape[0]
	add := func(name string, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64()) * 0.02
		}
		out = append(out, &checkpoint.Tensor{Name: name, Shape: shape, Data: data, DType: checkpoint.Float32})
	}
	lin := func(p string, in, outDim int) {
		add(p+".weight", outDim, in)
		add(p+".bias", outDim)
	}
	lin("com_dense", 2*h, h)
	lin("dense", 2*h, h)
	lin("out_proj", h, 410)
	if err := os.MkdirAll(filepath.Join(dir, "fac"), 0o755); err != nil {
		return 0, err
	}
	return h, checkpoint.WriteTorch(filepath.Join(dir, "fac", "pytorch_model.bin"), checkpoint.FormatTorchZip, out)
}

// writeData flattens DIR/inputs/*.npy to [N,...] and adds labels, once per
// task; it returns N.
func writeData(dir string, rng *rand.Rand) (int, error) {
	arrs := map[string]*npy.Array{}
	n := -1
	for _, name := range []string{"input_ids", "attention_mask", "subj_pos", "obj_pos"} {
		a, err := npy.ReadFile(filepath.Join(dir, "inputs", name+".npy"))
		if err != nil {
			return 0, err
		}
		if a.DType != npy.Int64 || len(a.Shape) < 2 {
			return 0, fmt.Errorf("%s.npy: want int64 [batches,batch,...], got %s %v", name, a.DType, a.Shape)
		}
		rows := a.Shape[0] * a.Shape[1]
		if n >= 0 && rows != n {
			return 0, fmt.Errorf("%s.npy has %d rows, want %d", name, rows, n)
		}
		n = rows
		arrs[name] = &npy.Array{DType: npy.Int64, Shape: append([]int{rows}, a.Shape[2:]...), Int64: a.Int64}
	}
	for _, task := range []struct {
		name    string
		classes int
	}{{"tacred", 42}, {"trex-rc", 410}} {
		out := filepath.Join(dir, "data-"+task.name)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, err
		}
		labels := make([]int64, n)
		for i := range labels {
			labels[i] = int64(rng.IntN(task.classes))
		}
		files := map[string]*npy.Array{"labels": {DType: npy.Int64, Shape: []int{n}, Int64: labels}}
		for k, a := range arrs {
			files[k] = a
		}
		for name, a := range files {
			if err := npy.WriteFile(filepath.Join(out, name+".npy"), a); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}
