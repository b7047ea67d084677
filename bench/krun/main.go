// Command krun-bench is the inference benchmark of bench/krun/run.sh. Two
// modes:
//
//	go run ./bench/krun gen DIR    random RoBERTa-base-sized weights (12 layers,
//	                               hidden 768) + fac/lin adapters + TACRED head as
//	                               torch zip checkpoints, and the input batches
//	go run ./bench/krun ort MODEL[,MODEL...] DIR   ONNX Runtime throughput on
//	                               those batches (models in turn, pass by pass)
//	go run ./bench/krun profile MODEL DIR OUT   ORT profile + optimized graph
//
// Sizes come from the environment (BENCH_LAYERS, BENCH_HIDDEN, BENCH_HEADS,
// BENCH_VOCAB, BENCH_BATCHES, BENCH_BATCH, BENCH_SEQ, BENCH_THREADS); see
// run.sh for the defaults.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/internal/npy"
	krt "github.com/kadapter/kadapter/runtime"
)

func env(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q is not an integer\n", name, v)
			os.Exit(2)
		}
		return n
	}
	return def
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: krun-bench gen DIR | krun-bench ort MODEL[,MODEL...] DIR | krun-bench profile MODEL DIR OUT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2])
	case "ort":
		if len(os.Args) < 4 {
			err = fmt.Errorf("ort needs MODEL and DIR")
			break
		}
		err = runORT(os.Args[2], os.Args[3])
	case "profile":
		if len(os.Args) < 5 {
			err = fmt.Errorf("profile needs MODEL, DIR and OUT")
			break
		}
		err = profileORT(os.Args[2], os.Args[3], os.Args[4])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "krun-bench:", err)
		os.Exit(1)
	}
}

type sizes struct {
	layers, hidden, heads, inter, vocab  int
	adapter, adapterLayers, adapterInter int
	batches, batch, seq                  int
}

func readSizes() sizes {
	h := env("BENCH_HIDDEN", 768)
	return sizes{
		layers: env("BENCH_LAYERS", 12), hidden: h, heads: env("BENCH_HEADS", 12), inter: 4 * h,
		vocab: env("BENCH_VOCAB", 50265), adapter: 768, adapterLayers: 2, adapterInter: 3072,
		batches: env("BENCH_BATCHES", 8), batch: env("BENCH_BATCH", 4), seq: env("BENCH_SEQ", 64),
	}
}

// gen writes DIR/roberta/{config.json,pytorch_model.bin},
// DIR/tacred/pytorch_model.bin and DIR/inputs/*.npy.
func gen(dir string) error {
	s := readSizes()
	rng := rand.New(rand.NewPCG(20240601, 1))
	var ts []*checkpoint.Tensor
	add := func(name string, std float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64()) * std
		}
		ts = append(ts, &checkpoint.Tensor{Name: name, Shape: shape, Data: data, DType: checkpoint.Float32})
	}
	ln := func(p string, h int) {
		ts = append(ts, &checkpoint.Tensor{Name: p + ".weight", Shape: []int{h}, Data: ones(h), DType: checkpoint.Float32})
		add(p+".bias", 0.02, h)
	}
	lin := func(p string, in, out int) {
		add(p+".weight", 0.02, out, in)
		add(p+".bias", 0.02, out)
	}
	layer := func(p string, h, inter int) {
		for _, k := range []string{"query", "key", "value"} {
			lin(p+".attention.self."+k, h, h)
		}
		lin(p+".attention.output.dense", h, h)
		ln(p+".attention.output.LayerNorm", h)
		lin(p+".intermediate.dense", h, inter)
		lin(p+".output.dense", inter, h)
		ln(p+".output.LayerNorm", h)
	}
	h := s.hidden
	add("roberta.embeddings.word_embeddings.weight", 0.02, s.vocab, h)
	add("roberta.embeddings.position_embeddings.weight", 0.02, 514, h)
	add("roberta.embeddings.token_type_embeddings.weight", 0.02, 1, h)
	ln("roberta.embeddings.LayerNorm", h)
	for i := 0; i < s.layers; i++ {
		layer(fmt.Sprintf("roberta.encoder.layer.%d", i), h, s.inter)
	}
	lin("roberta.pooler.dense", h, h)
	if err := os.MkdirAll(filepath.Join(dir, "roberta"), 0o755); err != nil {
		return err
	}
	if err := checkpoint.WriteTorch(filepath.Join(dir, "roberta", "pytorch_model.bin"), checkpoint.FormatTorchZip, ts); err != nil {
		return err
	}
	cfg := map[string]any{"hidden_size": h, "num_hidden_layers": s.layers, "num_attention_heads": s.heads,
		"intermediate_size": s.inter, "layer_norm_eps": 1e-5, "vocab_size": s.vocab, "max_position_embeddings": 514,
		"type_vocab_size": 1, "hidden_act": "gelu"}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "roberta", "config.json"), b, 0o644); err != nil {
		return err
	}

	ts = nil
	for _, kind := range []string{"fac", "lin"} {
		for k := 0; k < 3; k++ {
			p := fmt.Sprintf("%s_adapter.adapter.%d", kind, k)
			lin(p+".down_project", h, s.adapter)
			for j := 0; j < s.adapterLayers; j++ {
				layer(fmt.Sprintf("%s.encoder.layer.%d", p, j), s.adapter, s.adapterInter)
			}
			lin(p+".up_project", s.adapter, h)
		}
	}
	lin("task_dense_fac", 2*h, h)
	lin("task_dense_lin", 2*h, h)
	lin("task_dense", 2*h, h)
	lin("dense", 2*h, h)
	lin("out_proj", h, 42)
	if err := os.MkdirAll(filepath.Join(dir, "tacred"), 0o755); err != nil {
		return err
	}
	if err := checkpoint.WriteTorch(filepath.Join(dir, "tacred", "pytorch_model.bin"), checkpoint.FormatTorchZip, ts); err != nil {
		return err
	}

	// Inputs: right-padded rows of varied length, markers inside them.
	nb, bs, L := s.batches, s.batch, s.seq
	ids := make([]int64, nb*bs*L)
	mask := make([]int64, nb*bs*L)
	subj := make([]int64, nb*bs)
	obj := make([]int64, nb*bs)
	for r := 0; r < nb*bs; r++ {
		n := L/2 + rng.IntN(L/2+1)
		for j := 0; j < L; j++ {
			switch {
			case j == 0:
				ids[r*L+j] = 0
			case j == n-1:
				ids[r*L+j] = 2
			case j < n:
				ids[r*L+j] = 4 + int64(rng.IntN(s.vocab-4))
			default:
				ids[r*L+j] = 1
			}
			if j < n {
				mask[r*L+j] = 1
			}
		}
		subj[r] = 1 + int64(rng.IntN(n-2))
		obj[r] = 1 + int64(rng.IntN(n-2))
	}
	in := filepath.Join(dir, "inputs")
	if err := os.MkdirAll(in, 0o755); err != nil {
		return err
	}
	for name, a := range map[string]*npy.Array{
		"input_ids":      {DType: npy.Int64, Shape: []int{nb, bs, L}, Int64: ids},
		"attention_mask": {DType: npy.Int64, Shape: []int{nb, bs, L}, Int64: mask},
		"subj_pos":       {DType: npy.Int64, Shape: []int{nb, bs}, Int64: subj},
		"obj_pos":        {DType: npy.Int64, Shape: []int{nb, bs}, Int64: obj},
	} {
		if err := npy.WriteFile(filepath.Join(in, name+".npy"), a); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s: %d layers, hidden %d, 2x3 adapters of width %d, %d batches of %dx%d\n", dir, s.layers, h, s.adapter, nb, bs, L)
	return nil
}

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// runORT times the batches through ONNX Runtime for each model of the
// comma-separated list MODELS (opened side by side): one warm-up batch
// each, then BENCH_REPEATS (3) timed passes over all batches, the models
// taking turns pass by pass so that a change in machine load hits them
// alike. It prints one JSON line per model (median and best pass) and
// writes each model's logits to DIR/ort_logits.npy (the first model) and
// DIR/ort_logits.<i>.npy (the others).
func runORT(models, dir string) error {
	threads := env("BENCH_THREADS", 1)
	repeats := max(env("BENCH_REPEATS", 3), 1)
	paths := strings.Split(models, ",")
	sessions := make([]*krt.Session, len(paths))
	loads := make([]float64, len(paths))
	for i, p := range paths {
		t0 := time.Now()
		sess, err := krt.Open(p, krt.Options{IntraOpThreads: threads, InterOpThreads: 1})
		if err != nil {
			return err
		}
		defer sess.Close()
		sessions[i], loads[i] = sess, time.Since(t0).Seconds()
	}
	read := func(name string) (*npy.Array, error) { return npy.ReadFile(filepath.Join(dir, "inputs", name+".npy")) }
	arrs := make([]*npy.Array, 4)
	for i, name := range []string{"input_ids", "attention_mask", "subj_pos", "obj_pos"} {
		a, err := read(name)
		if err != nil {
			return err
		}
		arrs[i] = a
	}
	ids, mask, subj, obj := arrs[0], arrs[1], arrs[2], arrs[3]
	nb, bs, L := ids.Shape[0], ids.Shape[1], ids.Shape[2]
	batch := func(i int) map[string]krt.Tensor {
		sl := func(a *npy.Array, per int) []int64 { return a.Int64[i*per : (i+1)*per] }
		return map[string]krt.Tensor{
			"input_ids":      {Shape: []int64{int64(bs), int64(L)}, Data: sl(ids, bs*L)},
			"attention_mask": {Shape: []int64{int64(bs), int64(L)}, Data: sl(mask, bs*L)},
			"subj_pos":       {Shape: []int64{int64(bs)}, Data: sl(subj, bs)},
			"obj_pos":        {Shape: []int64{int64(bs)}, Data: sl(obj, bs)},
		}
	}
	ctx := context.Background()
	for _, sess := range sessions {
		if _, err := sess.Run(ctx, batch(0)); err != nil {
			return err
		}
	}
	logits := make([][]float32, len(paths))
	passes := make([][]float64, len(paths))
	for r := 0; r < repeats; r++ {
		for m, sess := range sessions {
			logits[m] = logits[m][:0]
			start := time.Now()
			for i := 0; i < nb; i++ {
				out, err := sess.Run(ctx, batch(i))
				if err != nil {
					return err
				}
				logits[m] = append(logits[m], out["logits"].Data.([]float32)...)
			}
			passes[m] = append(passes[m], time.Since(start).Seconds())
		}
	}
	for m, p := range paths {
		name := "ort_logits.npy"
		if m > 0 {
			name = fmt.Sprintf("ort_logits.%d.npy", m)
		}
		if err := npy.WriteFile(filepath.Join(dir, name), &npy.Array{DType: npy.Float32, Shape: []int{nb * bs, len(logits[m]) / (nb * bs)}, Float32: logits[m]}); err != nil {
			return err
		}
		sorted := append([]float64(nil), passes[m]...)
		sort.Float64s(sorted)
		med := sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
		}
		res := map[string]any{"engine": "onnxruntime " + krt.Version(), "model": p, "threads": threads, "batches": nb, "batch": bs, "seq": L,
			"repeats": repeats, "pass_seconds": passes[m], "seconds": med,
			"sequences_per_second": float64(nb*bs) / med, "best_sequences_per_second": float64(nb*bs) / sorted[0],
			"session_load_seconds": loads[m]}
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	return nil
}
