// Package traintest checks a training run against the kadapter-tiny
// training references (shared/fixtures/kadapter-tiny/train): it turns a
// setup's config.json into train.Options, runs it through a caller's
// function (the train package's API or the krun train command) and
// compares learning rates, per-micro-batch losses, clip norms, final
// parameters, frozen parameters and checkpoint key sets with the
// original code's float64 run.
package traintest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kadapter/kadapter/export/checkpoint"
	"github.com/kadapter/kadapter/export/models"
	"github.com/kadapter/kadapter/internal/npy"
	"github.com/kadapter/kadapter/internal/testshared"
	"github.com/kadapter/kadapter/runtime"
	"github.com/kadapter/kadapter/tasks"
	"github.com/kadapter/kadapter/train"
)

// fixtureConfig is the part of a train/<setup>/config.json a run needs.
type fixtureConfig struct {
	Script         string            `json:"script"`
	InitialWeights map[string]string `json:"initial_weights"`
	Hyper          struct {
		AdapterSkip  int       `json:"adapter_skip_layers"`
		ARate        float64   `json:"a_rate"`
		BRate        float64   `json:"b_rate"`
		Eps          float64   `json:"adam_epsilon"`
		Betas        []float64 `json:"adam_betas"`
		Batch        int       `json:"dataloader_batch_size"`
		Dropout      float64   `json:"dropout"`
		Fusion       string    `json:"fusion_mode"`
		Accumulation int       `json:"gradient_accumulation_steps"`
		LR           float64   `json:"learning_rate"`
		MaxGradNorm  *float64  `json:"max_grad_norm"`
		MicroBatches int       `json:"micro_batches"`
		TTotal       int       `json:"t_total"`
		Warmup       int       `json:"warmup_steps"`
		WeightDecay  float64   `json:"weight_decay"`
		Seed         int       `json:"seed"`
	} `json:"hyperparameters"`
	Frozen          []string `json:"frozen"`
	Trainable       []string `json:"trainable"`
	WithoutGradient []string `json:"trainable_without_gradient"`
	Batches         struct {
		Arrays []string `json:"arrays"`
	} `json:"batches"`
	Outputs struct {
		Files map[string]json.RawMessage `json:"checkpoint_files"`
	} `json:"outputs"`
}

var scriptTask = map[string]string{
	"fac-adapter.py": "trex-rc", "lin-adapter.py": "find-head",
	"examples/run_finetune_TACRED_adapter.py":     "tacred",
	"examples/run_finetune_openentity_adapter.py": "openentity",
	"examples/run_finetune_figer_adapter.py":      "figer",
	"examples/run_finetune_cosmosqa_adapter.py":   "cosmosqa",
}

// canonicalKey maps a fixture parameter name (module/key) to kadapter's
// canonical key.
func canonicalKey(name, adapter string) string {
	module, key, _ := strings.Cut(name, "/")
	switch module {
	case "pretrained_model":
		return "roberta." + strings.TrimPrefix(key, "model.")
	case "adapter_model":
		if strings.HasPrefix(key, "adapter.") {
			return adapter + "_adapter." + key
		}
	}
	return key
}

// fixtureData concatenates the micro-batches of a setup into one folder
// of arrays (examples on axis 0, in order).
func fixtureData(t *testing.T, dir string, arrays []string, micro int) string {
	out := t.TempDir()
	for _, name := range arrays {
		var all *npy.Array
		for k := 0; k < micro; k++ {
			a, err := npy.ReadFile(filepath.Join(dir, "batches", fmt.Sprintf("step_%d", k), name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if all == nil {
				all = a
				continue
			}
			all.Shape[0] += a.Shape[0]
			all.Float32 = append(all.Float32, a.Float32...)
			all.Int64 = append(all.Int64, a.Int64...)
		}
		if err := npy.WriteFile(filepath.Join(out, name+".npy"), all); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func readNPY(t *testing.T, path string) []float64 {
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a.AsFloat64()
}

// FixtureOptions returns the train Options of a kadapter-tiny training
// setup (pretrain_fac, tacred, ...) with its data in a temporary folder
// and out as the output folder: the upstream loop, the fixture's
// hyper-parameters.
func FixtureOptions(t *testing.T, setup, out string) train.Options {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	return fixtureOptions(t, root, setup, readConfig(t, filepath.Join(root, "train", setup)), out)
}

func readConfig(t *testing.T, dir string) fixtureConfig {
	var c fixtureConfig
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// fixtureOptions turns a setup's config.json into train Options.
func fixtureOptions(t *testing.T, root, setup string, c fixtureConfig, out string) train.Options {
	variant := filepath.Dir(filepath.Join(root, "train"))
	var m struct {
		Adapter struct {
			List  []int `json:"adapter_list"`
			Heads int   `json:"adapter_heads"`
		} `json:"adapter"`
	}
	b, err := os.ReadFile(filepath.Join(variant, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	task := scriptTask[c.Script]
	def, err := tasks.Get(task)
	if err != nil {
		t.Fatal(err)
	}
	src := models.Sources{Roberta: filepath.Join(variant, filepath.Dir(c.InitialWeights["roberta"]))}
	if f := c.InitialWeights["task_model"]; f != "" {
		src.TaskModel = filepath.Join(variant, f)
	} else if def.Adapter == "fac" {
		src.Fac = filepath.Join(variant, c.InitialWeights["adapter_model"])
	} else {
		src.Lin = filepath.Join(variant, c.InitialWeights["adapter_model"])
	}
	hp := c.Hyper
	h := def.Defaults
	h.LearningRate, h.WarmupSteps, h.WeightDecay, h.AdamEpsilon = hp.LR, hp.Warmup, hp.WeightDecay, hp.Eps
	h.AdamBeta1, h.AdamBeta2 = hp.Betas[0], hp.Betas[1]
	h.MaxGradNorm = 0
	if hp.MaxGradNorm != nil {
		h.MaxGradNorm = *hp.MaxGradNorm
	}
	h.BatchSize, h.Accumulation, h.Epochs, h.MaxSteps = hp.Batch, hp.Accumulation, 1, 0
	return train.Options{Task: task, Sources: src, Fusion: hp.Fusion, AdapterList: m.Adapter.List,
		AdapterHeads: m.Adapter.Heads, SkipLayers: hp.AdapterSkip, ARate: hp.ARate, BRate: hp.BRate,
		Data: fixtureData(t, filepath.Join(root, "train", setup), c.Batches.Arrays, hp.MicroBatches), Out: out,
		Hyper: h, TTotal: hp.TTotal, Dropout: hp.Dropout, Shuffle: false, Seed: uint64(hp.Seed), Loop: train.LoopUpstream,
		Session: runtime.Options{IntraOpThreads: 1}}
}

// Runner runs o and returns its result and every update's log.
type Runner func(t *testing.T, o train.Options) (*train.Result, []train.UpdateLog)

// CheckAll runs every training setup of kadapter-tiny with the upstream
// loop through run and compares with the original code's float64 run.
func CheckAll(t *testing.T, run Runner) {
	root := testshared.Path(t, "fixtures", "kadapter-tiny")
	entries, err := os.ReadDir(filepath.Join(root, "train"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		setup := ent.Name()
		n++
		t.Run(setup, func(t *testing.T) { checkFixture(t, root, setup, run) })
	}
	if n < 6 {
		t.Fatalf("found %d training setups, want at least 6", n)
	}
}

func checkFixture(t *testing.T, root, setup string, run Runner) {
	dir := filepath.Join(root, "train", setup)
	c := readConfig(t, dir)
	out := t.TempDir()
	o := fixtureOptions(t, root, setup, c, out)
	res, logs := run(t, o)
	ref := filepath.Join(dir, "ref_float64")
	// Learning rates, exactly.
	lrs := readNPY(t, filepath.Join(ref, "lr.npy"))
	if len(logs) != len(lrs) {
		t.Fatalf("%d updates, the original made %d", len(logs), len(lrs))
	}
	for i, u := range logs {
		if u.LR != lrs[i] {
			t.Errorf("update %d: lr %v, want %v", i+1, u.LR, lrs[i])
		}
	}
	// Per-micro-batch losses.
	losses := readNPY(t, filepath.Join(ref, "loss.npy"))
	var got []float64
	for _, u := range logs {
		got = append(got, u.MicroLosses...)
	}
	if len(got) != len(losses) {
		t.Fatalf("%d micro-batch losses, want %d", len(got), len(losses))
	}
	worstLoss := 0.0
	for i := range got {
		worstLoss = math.Max(worstLoss, math.Abs(got[i]-losses[i]))
		if d := math.Abs(got[i] - losses[i]); d > 1e-5 {
			t.Errorf("micro-batch %d: loss %.9g, want %.9g (diff %.2g)", i, got[i], losses[i], d)
		}
	}
	// Clip norms (relative), per micro-batch.
	groups := map[string]string{"adapter_model": "adapter_model", "roberta": "pretrained_model", "task": "task_model"}
	var norms []map[string]float64
	for _, u := range logs {
		norms = append(norms, u.MicroGradNorms...)
	}
	for ours, theirs := range groups {
		f := filepath.Join(ref, "grad_norm_"+theirs+".npy")
		if _, err := os.Stat(f); err != nil {
			continue
		}
		want := readNPY(t, f)
		if len(norms) != len(want) {
			t.Fatalf("%d micro-batch norms, want %d", len(norms), len(want))
		}
		for i, w := range want {
			if g := norms[i][ours]; math.Abs(g-w) > 1e-5*math.Max(1, w) {
				t.Errorf("micro-batch %d: %s norm %.9g, want %.9g", i, ours, g, w)
			}
		}
	}
	// Final parameters from the written checkpoint.
	def, _ := tasks.Get(o.Task)
	written := map[string]*checkpoint.Tensor{}
	refDir := filepath.Join(dir, "ref_float32", "checkpoint-4")
	for _, f := range def.Files {
		mine, err := checkpoint.Load(filepath.Join(res.Checkpoint, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := checkpoint.Load(filepath.Join(refDir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := keySet(mine), keySet(theirs); a != b {
			t.Errorf("%s: keys differ from the original's:\n ours   %s\n theirs %s", f.Name, a, b)
		}
		for name, ts := range mine {
			written[f.Name+"/"+name] = ts
		}
	}
	fileKey := func(key string) string {
		for _, f := range def.Files {
			for _, m := range f.Modules {
				if models.ModuleOf(key) == m {
					return f.Name + "/" + f.Rename(key)
				}
			}
		}
		return ""
	}
	worst, worstKey := 0.0, ""
	for _, name := range c.Trainable {
		key := canonicalKey(name, def.Adapter)
		ts := written[fileKey(key)]
		if ts == nil {
			t.Errorf("%s (%s) is not in the checkpoint", name, key)
			continue
		}
		module, rest, _ := strings.Cut(name, "/")
		want := readNPY(t, filepath.Join(ref, "final", module, rest+".npy"))
		tol := 2e-5
		if strings.Contains(key, "attention.self.key.bias") {
			tol = 5e-5
		}
		for i, w := range want {
			d := math.Abs(float64(ts.Data[i]) - w)
			if d > worst && tol == 2e-5 {
				worst, worstKey = d, key
			}
			if d > tol {
				t.Errorf("%s[%d] = %.9g, want %.9g (diff %.2g)", key, i, ts.Data[i], w, d)
				break
			}
		}
	}
	t.Logf("%s: %d updates, max loss diff %.2g, max parameter diff %.2g (%s)", setup, len(logs), worstLoss, worst, worstKey)
	// Frozen and gradient-less parameters: bit-identical to the start.
	w, _, err := models.LoadWeights(def.Task, o.Sources)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(append([]string(nil), c.Frozen...), c.WithoutGradient...) {
		key := canonicalKey(name, def.Adapter)
		fk := fileKey(key)
		ts := written[fk]
		if ts == nil {
			continue // not in the script's files (RoBERTa in pre-training)
		}
		init := w.Get(key)
		if init == nil {
			t.Errorf("%s: no initial value", key)
			continue
		}
		for i := range init.Data {
			if math.Float32bits(init.Data[i]) != math.Float32bits(ts.Data[i]) {
				t.Errorf("%s changed (element %d: %v -> %v) but must stay as loaded", key, i, init.Data[i], ts.Data[i])
				break
			}
		}
	}
	if len(c.WithoutGradient) != len(res.NoGradient) {
		t.Errorf("parameters without gradient: %v, the original: %v", res.NoGradient, c.WithoutGradient)
	}
}

func keySet(c map[string]*checkpoint.Tensor) string {
	var ks []string
	for name := range c {
		ks = append(ks, name)
	}
	sort.Strings(ks)
	return fmt.Sprintf("%d keys %v", len(ks), ks)
}

// CheckpointFiles reads every file of a checkpoint folder, by name.
func CheckpointFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}
